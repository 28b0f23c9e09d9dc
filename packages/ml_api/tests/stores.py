"""The prediction stores tests run against: a SQLite file, and a real PostgreSQL server that the
session starts and stops itself (Debian's ``postgresql``, installed by ``make test-tools``)."""

from __future__ import annotations

import os

import pytest

from tools import postgres

KINDS = ["sqlite", "postgresql"]


def postgres_or_skip() -> None:
    """Skip (saying how to enable it) when PostgreSQL is not installed, except under CI."""
    if postgres.server_bin() is not None:
        return
    message = "PostgreSQL's server is not installed: make test-tools (apt-get install postgresql)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
