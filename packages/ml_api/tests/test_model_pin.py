"""The service's venv after the model's VERSION is bumped and before its locks are written again
(README's release procedure): refused in one line saying to run make lock, which still runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tools.model_lock import locked_version

SERVICE = Path(__file__).resolve().parent.parent
#: A model package that builds nothing: its VERSION and a wheel of that version in dist/.
FAKE_MODEL_MAKEFILE = "wheel lock:\n\t@true\n"


def _bumped_tree(root: Path, version: str) -> Path:
    """The service's Makefile and locks beside a model package of ``version``; the service's
    folder."""
    service = root / "ml_api"
    service.mkdir()
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt"):
        shutil.copy(SERVICE / name, service / name)
    (service / "tools").mkdir()
    for name in ("__init__.py", "model_lock.py"):  # the Makefile reads the pin with it
        shutil.copy(SERVICE / "tools" / name, service / "tools" / name)
    shutil.copy(SERVICE.parent / "lock.mk", root / "lock.mk")
    model = root / "gradient_boosting_model"
    (model / "gradient_boosting_model").mkdir(parents=True)
    (model / "gradient_boosting_model" / "VERSION").write_text(f"{version}\n", encoding="utf-8")
    (model / "dist").mkdir()
    (model / "dist" / f"gradient_boosting_model-{version}-py3-none-any.whl").touch()
    (model / "Makefile").write_text(FAKE_MODEL_MAKEFILE, encoding="utf-8")
    return service


def _make(service: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(service), *targets],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_venv_against_locks_pinning_another_model_version_says_to_lock(tmp_path: Path) -> None:
    """``make replay`` on a checkout whose locks pinned 0.3.3 while the model was 0.3.4 died in
    uv's "No solution found when resolving dependencies" (a colleague's release)."""
    pinned = locked_version(SERVICE / "requirements-dev.txt")
    service = _bumped_tree(tmp_path, f"{pinned}+bumped")
    made = _make(service, "venv")
    assert made.returncode != 0
    said = (
        f"the service's locks pin the model's version {pinned}, the model is {pinned}+bumped "
        "(../gradient_boosting_model/gradient_boosting_model/VERSION): run make -C "
        "packages/ml_api lock"
    )
    assert said in made.stderr.splitlines(), made.stderr
    assert not (service / ".venv").exists()  # refused before anything was installed
    # make lock, which that line asks for, needs uv alone, not the venv refused.
    planned = _make(service, "--dry-run", "lock")
    assert planned.returncode == 0, planned.stderr
    # Nothing installed before the locks are written: the overlays' make after them installs.
    steps = planned.stdout.splitlines()
    compiles = [i for i, step in enumerate(steps) if "uv pip compile" in step]
    assert compiles, planned.stdout
    assert not [step for step in steps[: compiles[-1]] if "uv pip install" in step], steps
