"""Fixtures: one app per session, from ``create_app`` with testing settings, and its client.

The markers mean what they say, and this file holds them to it: a test that loads the trained
model (through ``create_app``, or the ``app`` and ``client`` fixtures) must be marked
``integration``, one that starts a real server must be marked ``server`` too, so that
``pytest -m "not integration"`` runs without a trained model.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NoReturn
from unittest import mock

import pytest
from connexion import FlaskApp
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import read_dataset
from gradient_boosting_model.persistence import holdout_model_path
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from api import config
from api import config as config_module
from api import service as service_module
from api.app import create_app, start_service
from api.service import PredictionService
from api.store.database import downgrade, make_engine, migrate
from tests.stores import KINDS, postgres_or_skip
from tools import postgres
from tools import server as real_server

MODEL_FIXTURES = frozenset({"app", "client", "service", "holdout_service", "holdout_client"})
#: The bearer token the session's app takes for posting sale prices back.
FEEDBACK_TOKEN = "feedback-token-for-tests"


def pytest_configure(config: pytest.Config) -> None:
    """Tests expect the settings' own defaults: an ``ML_API_*`` variable the caller exported
    (say ``ML_API_ENVIRONMENT=production``) must not change what they check. Tests that need
    one set it themselves (monkeypatch, or a server's environment)."""
    for name in [name for name in os.environ if name.startswith("ML_API_")]:
        del os.environ[name]
    # The session's own prediction store (SQLite, migrated), which every app and server the
    # tests start uses, instead of one in the working folder.
    state = Path(tempfile.mkdtemp(prefix="ml_api_test_state_"))
    os.environ["ML_API_STATE_DIR"] = str(state)
    engine = make_engine(config_module.Settings().store_url)
    migrate(engine)
    engine.dispose()


def _refuse(what: str, marker: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        pytest.fail(f"this test {what}: mark it {marker}", pytrace=False)

    return refuse


def _held_to_its_markers(item: pytest.Item) -> ExitStack:
    """Patches that fail an unmarked test the moment it loads the model or starts a server."""
    marks = {mark.name for mark in item.iter_markers()}
    stack = ExitStack()
    if "integration" not in marks:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            pytest.fail(f"{item.nodeid} uses the trained model: mark it integration", False)
        stack.enter_context(
            mock.patch.object(
                service_module,
                "load_model_with_card",
                _refuse("loads the model", "integration"),
            )
        )
    if "server" not in marks:
        stack.enter_context(
            mock.patch.object(real_server, "start", _refuse("starts a server", "server"))
        )
    return stack


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _held_to_its_markers(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _held_to_its_markers(item):
        return (yield)


@pytest.fixture(scope="session")
def service() -> PredictionService:
    """The prediction service the session's app serves."""
    return start_service(config.Settings(environment="testing", feedback_tokens=FEEDBACK_TOKEN))


@pytest.fixture(scope="session")
def app(service: PredictionService) -> FlaskApp:
    return create_app(config.Settings(environment="testing"), service=service)


@pytest.fixture(scope="session")
def client(app: FlaskApp) -> Iterator[TestClient]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture(scope="session")
def holdout_artifact() -> Path:
    """The file of the model the package's labelled holdout measures: the packaged model, or,
    where it was fitted on the holdout too (``data.served_fit`` ``all_labelled``), its twin
    fitted on the training split alone (``persistence.holdout_model_path``), of which the
    card's holdout figures are."""
    return holdout_model_path(load_config())


@pytest.fixture(scope="session")
def holdout_service(
    holdout_artifact: Path, tmp_path_factory: pytest.TempPathFactory
) -> PredictionService:
    """A service serving ``holdout_artifact`` (``ML_API_MODEL_ARTIFACT``), with a store of
    its own and the session's feedback token: for tests that price the holdout through the
    service and hold the live figures to the card's holdout figures, which mean nothing for a
    model fitted on the holdout's houses."""
    settings = config.Settings(
        environment="testing",
        state_dir=tmp_path_factory.mktemp("holdout_state"),
        model_artifact=holdout_artifact,
        feedback_tokens=FEEDBACK_TOKEN,
    )
    return start_service(settings)


@pytest.fixture(scope="session")
def holdout_client(holdout_service: PredictionService) -> Iterator[TestClient]:
    """A client of ``holdout_service``."""
    app = create_app(config.Settings(environment="testing"), service=holdout_service)
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture(scope="session")
def request_rows() -> list[dict[str, Any]]:
    """Every row of the model package's test.csv, JSON-shaped, as a client sends them."""
    return read_dataset("test.csv")


@pytest.fixture
def house(request_rows: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(request_rows[0])


# The prediction stores tests run against (tests/stores.py).


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.Postgres]:
    postgres_or_skip()
    with postgres.running() as server:
        yield server


@pytest.fixture(params=KINDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database of each kind (no migration applied)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store')}/predictions.db"
        return
    server: postgres.Postgres = request.getfixturevalue("postgres_server")
    yield server.url
    engine = make_engine(server.url)  # empty again for the next test
    downgrade(engine, "base")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    made = make_engine(store_url)
    yield made
    made.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    """``engine``'s database at the code's revision."""
    migrate(engine)
    return engine
