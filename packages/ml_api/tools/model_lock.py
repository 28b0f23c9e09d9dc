"""The model's version a service lock pins: its ``gradient-boosting-model==X`` line.

Read here alone: by the tools (tools/model_overlays.py), and by the Makefile, which checks the
pin against the model's VERSION before it makes the venv, so with the standard library only.

    python -m tools.model_lock requirements-dev.txt    # prints the version
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

MODEL_PACKAGE = "gradient-boosting-model"
#: A lock's pin as uv writes it: ``name==version``, then its comment (``--annotation-style
#: line``) or an environment marker.
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def locked_version(lock: Path) -> str:
    """The model's version pinned in ``lock``.

    Raises
    ------
    LookupError
        If ``lock`` pins no model version.
    """
    for line in lock.read_text(encoding="utf-8").splitlines():
        pin = _PIN.match(line.strip())
        # The name as pip compares it (PEP 503): case, runs of - _ . alike.
        if pin and re.sub(r"[-_.]+", "-", pin.group(1)).lower() == MODEL_PACKAGE:
            return pin.group(2)
    raise LookupError(f"{lock} pins no {MODEL_PACKAGE}: run `make lock`")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", type=Path, help="a lock file (requirements.txt)")
    arguments = parser.parse_args(argv)
    try:
        print(locked_version(arguments.lock))
    except (OSError, LookupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
