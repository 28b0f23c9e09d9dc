"""A Ctrl-C that reaches score-houses (the installed command) at a moment a timer cannot hit
every time: while it imports its code, or while a library's C code imports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gradient_boosting_model.batch.command import INTERRUPTED
from gradient_boosting_model.config import DATASET_DIR

pytestmark = pytest.mark.integration

#: Imported by Python at its start when its folder is on PYTHONPATH: sends the process SIGINT
#: as it starts to import the module ``INTERRUPT_AT`` names, as a Ctrl-C then would. With
#: ``INTERRUPT_AS_IMPORT_ERROR``, the import fails with an ``ImportError`` once the
#: interrupt is raised, as numpy's C code turns one (a probe's: "PyCapsule_Import could not
#: import module").
SITECUSTOMIZE = """\
import os
import signal
import sys


class InterruptAt:
    def find_spec(self, name, path=None, target=None):
        if name != os.environ["INTERRUPT_AT"]:
            return None
        sys.meta_path.remove(self)
        try:
            signal.raise_signal(signal.SIGINT)
            sum(range(10))  # the handler runs between bytecodes
        except KeyboardInterrupt:
            if "INTERRUPT_AS_IMPORT_ERROR" in os.environ:
                raise ImportError(f"{name}: an import cut short") from None
            raise
        raise AssertionError("no KeyboardInterrupt: SIGINT is not handled")


sys.meta_path.insert(0, InterruptAt())
"""


def score_houses(tmp_path: Path, interrupt_at: str, *, as_import_error: bool) -> tuple[int, str]:
    """Run the installed ``score-houses`` on 30 houses in this process, interrupted when it
    imports ``interrupt_at``; its exit status and standard error."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    lines = (DATASET_DIR / "test.csv").read_text().splitlines()[:31]
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "INTERRUPT_AT": interrupt_at}
    if as_import_error:
        env["INTERRUPT_AS_IMPORT_ERROR"] = "1"
    done = subprocess.run(
        [Path(sys.executable).with_name("score-houses"), "h.csv", "o.csv", "--in-process"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # Python handles SIGINT only where it was not ignored when it started (a background
        # job's is): as a terminal's foreground command has it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert done.stdout == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["h.csv", "site"]
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    "module",
    [
        "argparse",  # imported by batch/cli.py, at about 30 ms
        "gradient_boosting_model.batch.settings",  # by batch/cli.py, at about 40 ms
        "gradient_boosting_model.batch.job",  # by cli.main
    ],
)
def test_an_interrupt_while_the_command_imports_its_code_is_one_line(
    module: str, tmp_path: Path
) -> None:
    """A probe's: Ctrl-C in the first 45 ms of score-houses' 50 (as it imported batch/cli.py,
    before ``main`` could catch it) printed Python's ``KeyboardInterrupt`` traceback, every
    time from 10 ms to 45 ms."""
    status, err = score_houses(tmp_path, module, as_import_error=False)
    assert (status, err) == (130, INTERRUPTED + "\n")


@pytest.mark.parametrize("module", ["argparse", "numpy"])
def test_an_import_an_interrupt_cut_short_is_the_interrupt(module: str, tmp_path: Path) -> None:
    """A probe's: an interrupt that met numpy's import (at 50 ms) or pandas' (pyarrow's, at 0.4
    s) in their C code came out as another error, ``ImportError`` or ``AttributeError``: a
    traceback and exit 1. Once SIGINT has come, any error is the interrupt's."""
    status, err = score_houses(tmp_path, module, as_import_error=True)
    assert (status, err) == (130, INTERRUPTED + "\n")
