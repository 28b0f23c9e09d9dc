"""``score-houses``'s entry point (``pyproject.toml``), and its exit statuses.

Light on purpose: it imports what Python and the package have loaded already (and ``signal``,
a few lines), and imports the command (``cli``: argparse, the cluster's and the job's
settings) inside its ``try``. A Ctrl-C while the command imported its code, in the first 45 ms
of its 50, came before ``cli.main`` could catch it: Python's traceback of a
``KeyboardInterrupt`` (a probe's, at 10 to 45 ms, every time). Now an interrupt is said in one
line, exit 130, from this module's first line to the process's end.

What is left is before any of the command's own code runs: Python's start and its ``site``
(``.pth`` files), the ``import re`` of the script pip writes, and the package's ``__init__``
(``logging``), about 15 ms on a machine of 2 shared cores. An interrupt then ends the process
by the signal (the shell's 130, no word) or with Python's traceback.
"""

from __future__ import annotations

import gc
import signal
import sys
from contextlib import suppress

PROGRAM = "score-houses"
#: The command's exit statuses, and what each says.
EXIT_DONE, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
EXIT_STATUSES = {
    EXIT_DONE: "every file scored, the rejected share within --max-rejected",
    EXIT_FAILED: "the job failed: its message says why (after the summary so far, if it scored)",
    EXIT_USAGE: "a wrong command line",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGINT): nothing written",
    EXIT_TERMINATED: "terminated (SIGTERM: kill, timeout): nothing written",
}
#: What the command says when it is interrupted or terminated, on standard error.
INTERRUPTED = f"{PROGRAM}: interrupted: nothing written"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is (``cli``): it stops as an interrupt does (its
    partial files removed, its cluster stopped), with its own exit status."""


#: Whether SIGINT has reached the command (``_interrupt``).
_interrupted_once = False


def _interrupt(signum: int, frame: object) -> None:
    """SIGINT's handler while the command runs: Python's own (``KeyboardInterrupt``), which
    also notes that it came."""
    global _interrupted_once
    _interrupted_once = True
    raise KeyboardInterrupt


def exit_status(stop: KeyboardInterrupt) -> int:
    """The exit status of the command stopped by ``stop``: SIGTERM's or an interrupt's."""
    return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED


def run() -> None:
    """The command: ``cli.main``, then exit with its status.

    An interrupt ``main`` does not catch (one while ``cli`` is imported, or a second one as
    ``main`` says the first) is said here, exit 130. So is any other error once an interrupt
    has come: one that meets a library's import in its C code comes out as another error
    (pyarrow's import of pandas: "AttributeError: partially initialized module 'pandas'", and
    numpy's "ImportError: ... PyCapsule_Import could not import module", each a traceback and
    exit 1 in a probe's Ctrl-C at 50 ms and at 0.4 s).

    Once ``main`` has returned, the command has said its last and its status stands: SIGINT
    is ignored until the process ends. What the job left (Dask's client, Arrow, the model's
    code) lives until then, so it is frozen out of the collector's sight first: the
    interpreter's last collections walked it, 0.2-0.4 s of a 2.5 s command.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored (nohup)
        signal.signal(signal.SIGINT, _interrupt)
    try:
        from gradient_boosting_model.batch.cli import main

        code = main()
        _ignore_interrupts()
    except KeyboardInterrupt as stop:
        _ignore_interrupts()
        code = _interrupted(stop)
    except Exception:
        if not _interrupted_once:
            raise
        _ignore_interrupts()
        code = _interrupted(KeyboardInterrupt())
    gc.freeze()
    sys.exit(code)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interrupted(stop: KeyboardInterrupt) -> int:
    """Say ``INTERRUPTED`` on standard error if it can be written; the exit status of
    ``stop``."""
    with suppress(OSError):  # a standard error gone: the status says it
        print(INTERRUPTED, file=sys.stderr, flush=True)
    return exit_status(stop)


if __name__ == "__main__":
    run()
