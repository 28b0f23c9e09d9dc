"""Write the OpenAPI document the service serves at ``/openapi.json`` to a file, for the linters.

No server: the app's test client asks for it, with the testing settings and their limits.
Usage: ``python -m tools.served_spec OUTPUT``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from api.app import create_app
from api.config import Settings


def served_spec() -> str:
    """The document ``GET /openapi.json`` answers, indented for readable line numbers."""
    app = create_app(Settings(environment="testing", log_level="WARNING"))
    with app.test_client() as client:
        response = client.get("/openapi.json")
    response.raise_for_status()
    return json.dumps(response.json(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the JSON file to write")
    args = parser.parse_args(argv)
    args.output.write_text(served_spec(), encoding="utf-8")


if __name__ == "__main__":
    main()
