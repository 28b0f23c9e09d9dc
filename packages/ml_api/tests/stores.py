"""The prediction stores tests run against: a SQLite file, and a real PostgreSQL server that the
session starts and stops itself (Debian's ``postgresql``, installed by ``make test-tools``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from api.service import PredictionService
from api.store.database import make_engine
from api.store.recorder import PricedRequest
from api.store.tables import predictions
from tests.debian_tools import unavailable
from tools import postgres

KINDS = ["sqlite", "postgresql"]


def postgres_or_skip() -> None:
    """Skip (saying how to enable it) when PostgreSQL is not installed, except under CI."""
    if postgres.server_bin() is not None:
        return
    unavailable(
        "PostgreSQL's server is not installed: make test-tools (apt-get install postgresql)"
    )


#: Who the store's tests post sales as (a feedback token's name, ``sales.reported_by``).
REPORTER = "tests"
#: The model version ``priced_request``'s houses are priced by.
MODEL_VERSION = "0.2.0"


def priced_request(
    count: int, token: str = "00000000000000aa", *, model_version: str = MODEL_VERSION
) -> PricedRequest:
    """A request of ``count`` houses as the service hands it to the recorder: ids
    ``<token>-<index>``, house ``i`` of ``GrLivArea`` 1000 + i priced 100,000 + i."""
    return PricedRequest(
        ids=[f"{token}-{i}" for i in range(count)],
        request_id="test",
        model_version=model_version,
        houses=[{"GrLivArea": 1000 + i, "Neighborhood": "NAmes"} for i in range(count)],
        prices=[100_000.0 + i for i in range(count)],
        intervals=[SimpleNamespace(lower=90_000.0, upper=110_000.0, calibrated=True, partial=False)]
        * count,
        warnings=[[] for _ in range(count)],
        priced_at=datetime.now(UTC),
    )


def count_rows(engine: Engine, table: object = predictions) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


class Outage:
    """An engine factory whose database is down until ``end`` is called."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.up = threading.Event()

    def __call__(self) -> Engine:
        if not self.up.is_set():
            raise ConnectionError("the database is down")
        return make_engine(self.url)

    def end(self) -> None:
        self.up.set()


def wait_for(condition: Callable[[], Any], timeout: float = 30.0) -> None:
    """Return once ``condition()`` holds; fail if it does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def price_recorded(
    client: TestClient, service: PredictionService, houses: list[dict[str, Any]]
) -> Any:
    """The answer to pricing ``houses``, once the service's recorder has written them."""
    answer = client.post("/v1/predictions", json=houses)
    assert answer.status_code == 200
    assert service.recorder is not None and service.recorder.flush(20)
    return answer.json()
