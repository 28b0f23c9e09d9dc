"""A stalled prediction store: a lock held by another connection (a psql session's ``LOCK
TABLE``, SQLite's ``BEGIN EXCLUSIVE``), on SQLite and on a real PostgreSQL.

Before ``ML_API_STORE_STATEMENT_TIMEOUT``, nothing bounded a statement: with such a lock held
for 60 s on PostgreSQL, a sale waited the 60 s (then 200), the writer's COPY and the monitor's
read as long, and ``ml_api_database_up`` read 1 throughout, as nothing had failed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from api import config
from api.app import create_app, start_service
from api.problems import StoreUnavailableProblem
from api.service import PredictionService
from api.store.database import APPLICATION_NAME, make_engine
from api.store.health import STALLED_BOUNDS, WATCH_SECONDS
from tests.conftest import FEEDBACK_TOKEN
from tests.stores import price_recorded, wait_for
from tools import postgres

pytestmark = pytest.mark.external  # PostgreSQL is a Debian package

#: The store's bound in these tests (seconds), and how much later than it an answer may come on
#: a slow machine: an answer held by the lock until its release comes far later.
BOUND = 1.0
MARGIN = 10.0
AUTH = {"Authorization": f"Bearer {FEEDBACK_TOKEN}"}


@contextmanager
def _locked(url: str) -> Iterator[None]:
    """The store's tables locked by another connection for the ``with`` block, as an operator's
    session would lock them: every table on PostgreSQL (``ACCESS EXCLUSIVE``: no read, no
    write), SQLite's write lock (its readers go on, in WAL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        holder: Any = sqlite3.connect(str(parsed.database), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    else:
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        holder = psycopg.connect(conninfo)
        holder.execute("LOCK TABLE predictions, sales, challenger_prices IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


@contextmanager
def _served(store_url: str) -> Iterator[tuple[TestClient, PredictionService]]:
    """An app on ``store_url`` (migrated) whose statements are bounded at ``BOUND``, its writer
    and monitor running (the monitor refreshing often, as a stall's reads are what it sees)."""
    settings = config.Settings(
        environment="testing",
        database_url=store_url,
        feedback_tokens=FEEDBACK_TOKEN,
        store_statement_timeout=BOUND,
        monitoring_seconds=0.25,
    )
    service = start_service(settings)
    with create_app(settings, service=service).test_client() as client:
        yield client, service


def _database_up() -> float | None:
    return REGISTRY.get_sample_value("ml_api_database_up")


def _answered_within(timeout: float, ask: Callable[[], Any]) -> tuple[Any, float]:
    """``ask()``'s answer and the seconds it took, or a failure if it takes longer than
    ``timeout`` (a request the lock holds is answered once the lock goes, after the test
    failed)."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        started = time.monotonic()
        answer = pool.submit(ask).result(timeout=timeout)
        return answer, time.monotonic() - started
    finally:
        pool.shutdown(wait=False)  # a request still held ends with the lock, not before it


@pytest.mark.integration
def test_a_sale_the_store_stalls_is_a_503_within_the_bound_and_the_store_reads_down(
    migrated: Engine, store_url: str, request_rows: list[dict[str, Any]]
) -> None:
    """A lock held elsewhere: the sale is answered a 503 saying so within the bound (plus a
    margin), prices go on, and ``ml_api_database_up`` reads 0 while it lasts (the writer's
    write of the house priced meanwhile, and on PostgreSQL the monitor's reads, stopped at the
    bound); once the lock is gone, the sale is taken and the store reads up again."""
    with _served(store_url) as (client, service):
        sold = price_recorded(client, service, [request_rows[0]])["prediction_ids"][0]
        sale = [{"prediction_id": sold, "sale_price": 150_000, "sold_on": "2010-06-30"}]
        assert _database_up() == 1
        with _locked(store_url):
            refused, took = _answered_within(
                BOUND + MARGIN, lambda: client.post("/v1/sales", json=sale, headers=AUTH)
            )
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            expected = StoreUnavailableProblem(timed_out_after=BOUND)
            assert refused.json() == expected.body()
            assert "did not answer within 1 s; nothing was written" in refused.json()["detail"]
            assert refused.headers["retry-after"] == "1"
            assert took < BOUND + MARGIN
            assert client.post("/v1/predictions", json=request_rows[1:2]).status_code == 200
            wait_for(lambda: _database_up() == 0, BOUND + MARGIN)
        accepted = client.post("/v1/sales", json=sale, headers=AUTH)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json() == {"recorded": 1}
        assert service.recorder is not None and service.recorder.flush(BOUND + MARGIN)
        wait_for(lambda: _database_up() == 1, BOUND + MARGIN)


@pytest.mark.integration
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_monitoring_window_the_store_stalls_is_a_503_within_the_bound(
    migrated: Engine, store_url: str, request_rows: list[dict[str, Any]]
) -> None:
    """A window asked for is read now: with PostgreSQL's tables locked it waited as long as the
    lock; it is a 503 at the bound, and the next one is computed once the lock is gone. (SQLite's
    readers are not held by its write lock.)"""
    with _served(store_url) as (client, service):
        price_recorded(client, service, [request_rows[0]])
        window = "/v1/monitoring?predictions=100&sales=10"
        with _locked(store_url):
            refused, took = _answered_within(
                BOUND + MARGIN, lambda: client.get(window, headers=AUTH)
            )
            assert refused.status_code == 503, refused.text
            expected = StoreUnavailableProblem(writing=False, timed_out_after=BOUND)
            assert refused.json() == expected.body()
            assert "the window was not computed" in refused.json()["detail"]
            assert took < BOUND + MARGIN
            wait_for(lambda: _database_up() == 0, BOUND + MARGIN)
        computed = client.get(window, headers=AUTH)
        assert computed.status_code == 200, computed.text
        assert computed.json()["priced_houses"] == 1


def test_each_connection_to_postgresql_carries_the_bound_and_a_dead_peer_check(
    postgres_server: Any,
) -> None:
    """Server-side timeouts set at connection (after the URL's own options, kept), and libpq's
    TCP settings; the migrations' engine bounds its waits on locks only."""
    url = f"{postgres_server.url}?options=-c%20search_path%3Dpublic"
    served = make_engine(url, statement_timeout=1.5)
    migrating = make_engine(url, statement_timeout=1.5, migrating=True)
    try:
        with served.connect() as connection:
            show = connection.exec_driver_sql
            assert show("SHOW statement_timeout").scalar() == "1500ms"
            assert show("SHOW lock_timeout").scalar() == "1500ms"
            assert show("SHOW search_path").scalar() == "public"
            parameters = connection.connection.driver_connection.info.get_parameters()  # type: ignore[union-attr]
        assert {name: parameters.get(name) for name in _TCP} == {
            "keepalives": "1",
            "keepalives_idle": "2",
            "keepalives_interval": "1",
            "keepalives_count": "3",
            "tcp_user_timeout": "3000",
        }
        with migrating.connect() as connection:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1500ms"
    finally:
        served.dispose()
        migrating.dispose()


def test_the_apis_connections_name_themselves_unless_the_url_names_them(
    postgres_server: Any,
) -> None:
    """pg_stat_activity's application_name: how an operator, or a restore refusing to run under
    a connected client, tells the API's connections from others."""
    for url, name in [
        (postgres_server.url, APPLICATION_NAME),
        (f"{postgres_server.url}?application_name=reports", "reports"),
    ]:
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SHOW application_name").scalar() == name
        finally:
            engine.dispose()


_TCP = ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
        "tcp_user_timeout")  # fmt: skip


def test_sqlite_waits_on_a_lock_for_the_same_bound(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/store.db", statement_timeout=1.5)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    finally:
        engine.dispose()


@contextmanager
def _frozen(server: postgres.Postgres) -> Iterator[None]:
    """Every process of ``server`` stopped (SIGSTOP) for the ``with`` block, as a paused
    container's or a server's stuck on its disk: its kernel still acknowledges the packets of
    open connections, and no timer of the server's runs."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(
        ["pgrep", "-P", str(postmaster)], capture_output=True, text=True, check=False
    ).stdout.split()
    pids = [postmaster, *map(int, children)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@pytest.mark.integration
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_store_that_never_answers_reads_down_and_up_again(
    migrated: Engine,
    store_url: str,
    postgres_server: postgres.Postgres,
    request_rows: list[dict[str, Any]],
) -> None:
    """A stopped PostgreSQL: the writer's and the monitor's statements on open connections wait
    until it is back, the bound notwithstanding, and fail nothing: the gauge read 1 throughout.
    A write or read in flight ``STALLED_BOUNDS`` times the bound reads 0; back once it ends."""
    with _served(store_url) as (client, service):
        price_recorded(client, service, [request_rows[0]])
        wait_for(lambda: _database_up() == 1, MARGIN)
        with _frozen(postgres_server):
            priced = client.post("/v1/predictions", json=request_rows[1:2])
            assert priced.status_code == 200  # prices go on
            stalled = STALLED_BOUNDS * BOUND + WATCH_SECONDS
            wait_for(lambda: _database_up() == 0, stalled + MARGIN)
        assert service.recorder is not None and service.recorder.flush(MARGIN)
        wait_for(lambda: _database_up() == 1, MARGIN)
