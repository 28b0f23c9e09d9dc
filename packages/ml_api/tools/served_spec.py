"""Write the OpenAPI document the service serves at ``/openapi.json`` to a file, for the linters.

It is ``read_spec`` with the settings' limits, which ``SpecDocumentMiddleware`` serves as it is
(``tests/test_spec.py`` checks that the two are equal): no app, no model, no server.
Usage: ``python -m tools.served_spec OUTPUT``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from api.config import Settings
from api.spec_document import read_spec


def served_spec() -> str:
    """The document ``GET /openapi.json`` answers, indented for readable line numbers."""
    return json.dumps(read_spec(Settings(environment="testing")), indent=2) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the JSON file to write")
    args = parser.parse_args(argv)
    args.output.write_text(served_spec(), encoding="utf-8")


if __name__ == "__main__":
    main()
