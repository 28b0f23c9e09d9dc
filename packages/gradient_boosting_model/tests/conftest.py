"""Shared fixtures: the packaged config and data, as a client would send them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import read_dataset


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


@pytest.fixture(scope="session")
def request_rows(config: Config) -> list[dict[str, Any]]:
    """Every row of the packaged test.csv, JSON-shaped."""
    return read_dataset(config.data.requests_file)


@pytest.fixture
def house(request_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One valid house (a fresh copy: tests may change it)."""
    return copy.deepcopy(request_rows[0])
