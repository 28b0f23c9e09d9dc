"""Fixtures of the batch tests: input files made from test.csv (see ``houses``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch.houses import BatchInput, Files, House, MakeInput, make_files


@pytest.fixture(scope="session")
def make_input(request_rows: list[House]) -> MakeInput:
    """``make_files`` with test.csv's rows."""

    def make(folder: Path, files: Files) -> BatchInput:
        return make_files(folder, files, request_rows)

    return make
