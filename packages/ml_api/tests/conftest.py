"""Fixtures: one app per session, from ``create_app`` with testing settings, and its client."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from connexion import FlaskApp
from gradient_boosting_model.data import read_dataset
from starlette.testclient import TestClient

from api import config
from api.app import create_app


def pytest_configure(config: pytest.Config) -> None:
    """Tests expect the settings' own defaults: an ``ML_API_*`` variable the caller exported
    (say ``ML_API_ENVIRONMENT=production``) must not change what they check. Tests that need
    one set it themselves (monkeypatch, or a server's environment)."""
    for name in [name for name in os.environ if name.startswith("ML_API_")]:
        del os.environ[name]


@functools.cache
def session_app() -> FlaskApp:
    """The one app of the test session (schemathesis needs it when its module is imported)."""
    return create_app(config.Settings(environment="testing"))


@pytest.fixture(scope="session")
def app() -> FlaskApp:
    return session_app()


@pytest.fixture(scope="session")
def client(app: FlaskApp) -> Iterator[TestClient]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture(scope="session")
def request_rows() -> list[dict[str, Any]]:
    """Every row of the model package's test.csv, JSON-shaped, as a client sends them."""
    return read_dataset("test.csv")


@pytest.fixture
def house(request_rows: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(request_rows[0])
