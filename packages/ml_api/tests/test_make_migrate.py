"""``make migrate`` (``python -m api.store.database``) as Kubernetes runs it: in the init
container of every replica that starts, several at once, against a PostgreSQL that may not be
up yet."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from api.store.database import (
    MIGRATION_LOCK,
    current_revision,
    head_revision,
    make_engine,
    one_migration_at_a_time,
)
from tools.server import free_port

pytestmark = pytest.mark.external  # PostgreSQL is a Debian package

ON_POSTGRES = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)


#: The store's bound on a lock's wait for the command (``ML_API_STORE_STATEMENT_TIMEOUT``):
#: shorter than the other migration a test holds, which a replica waits for however long.
BOUND_SECONDS = "1"


def _make_migrate(url: str, port: int | None = None, *args: str) -> subprocess.Popen[str]:
    """The command, given ``args``, its status served on ``port`` (a free one by default:
    never the server's 5000, which another test run may hold)."""
    return subprocess.Popen(
        [sys.executable, "-m", "api.store.database", *args],
        env={
            **os.environ,
            "ML_API_DATABASE_URL": url,
            "ML_API_STORE_STATEMENT_TIMEOUT": BOUND_SECONDS,
            "ML_API_HOST": "127.0.0.1",
            "ML_API_PORT": str(port or free_port()),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@ON_POSTGRES
def test_replicas_migrating_at_once_all_succeed(store_url: str, engine: Engine) -> None:
    """Three replicas starting together on an empty database. Without the lock, 5 runs in 5 of
    a script had one or two of them fail on a duplicate key (each then run again by the
    kubelet), but this test alone not every time: the next one fails whenever the lock is not
    taken."""
    runs = [_make_migrate(store_url) for _ in range(3)]
    ends = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in ends]
    assert current_revision(engine) == head_revision()


@ON_POSTGRES
def test_a_migration_waits_for_the_one_under_way(store_url: str, engine: Engine) -> None:
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        run = _make_migrate(store_url)
        time.sleep(3)  # longer than the bound, and than a migration of an empty database
        waited = run.poll() is None
        holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        holder.commit()
    _, err = run.communicate(timeout=120)
    assert waited, "the migration ran while another held the lock"
    assert run.returncode == 0, err
    assert current_revision(engine) == head_revision()


def _scraped(port: int) -> dict[str, float] | None:
    """The command's ``/metrics`` as Prometheus reads them, or ``None`` where nothing answers."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    except httpx.TransportError:
        return None
    assert answer.status_code == 200, answer.text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


@ON_POSTGRES
def test_a_replica_waiting_its_turn_is_up_to_prometheus(store_url: str, engine: Engine) -> None:
    """A pod whose init container waits for another's migration answers Prometheus on the
    server's port, saying it waits and since when, so that MlApiDown does not fire for it and
    MlApiMigrationSlow can (before, nothing answered there: up 0 for as long as it waited). No
    other path answers as a server would, and the port is the server's again once it is done."""
    port = free_port()
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        before = time.time()
        run = _make_migrate(store_url, port)
        try:
            waiting: dict[str, float] | None = None
            for _ in range(100):
                waiting = _scraped(port)
                if waiting and waiting.get("ml_api_migration_waiting") == 1:
                    break
                time.sleep(0.1)
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            holder.commit()
    _, err = run.communicate(timeout=120)
    assert waiting is not None, "nothing answered on the port while it waited"
    assert waiting["ml_api_migration_waiting"] == 1
    assert before - 1 <= waiting["ml_api_migration_start_time_seconds"] <= time.time()
    assert health.status_code == 503
    assert run.returncode == 0, err
    assert err == ""
    assert _scraped(port) is None


def test_a_store_it_cannot_reach_is_said_in_one_line_without_its_password() -> None:
    run = _make_migrate("postgresql+psycopg://user:secret-password@127.0.0.1:1/none")
    out, err = run.communicate(timeout=60)
    assert run.returncode == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("make migrate: the prediction store at postgresql+psycopg://")
    assert "was not migrated: OperationalError" in lines[0]
    assert "Connection refused" in lines[0]
    assert "secret-password" not in err


@ON_POSTGRES
def test_the_migration_itself_waits_on_locks_no_longer_than_the_bound(store_url: str) -> None:
    """Only the wait for another migration is unbounded: the migration's own statements wait
    for the running service's locks (which would queue behind theirs) no longer than the
    store's bound."""
    engine = make_engine(store_url, statement_timeout=1.5, migrating=True)
    try:
        with engine.connect() as connection, one_migration_at_a_time(connection):
            assert connection.execute(text("SHOW lock_timeout")).scalar() == "1500ms"
    finally:
        engine.dispose()


def _ran(url: str, *args: str) -> tuple[int, str, str]:
    """The command run to its end: its status, standard output and standard error."""
    run = _make_migrate(url, None, *args)
    out, err = run.communicate(timeout=60)
    return run.returncode, out, err


@ON_POSTGRES
def test_a_store_a_later_release_migrated_is_said_in_one_line_with_the_way_back(
    store_url: str, engine: Engine
) -> None:
    """A rolled-back image's init container found the store at a revision it has no script
    for: Alembic's traceback, and the advice the server gave (run ``make migrate``) was the
    command failing. Now one line names the revision and the way back, which the later
    release's code (it has the scripts) takes: ``--downgrade`` to this code's revision."""
    head = head_revision()
    assert _ran(store_url)[0] == 0
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        status, out, err = _ran(store_url)
        assert (status, out) == (1, "")
        assert err.splitlines() == [err.rstrip("\n")], err
        assert "at revision 9999, a later release's" in err
        assert f"--downgrade {head}`" in err
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )
    assert _ran(store_url, "--downgrade", "0004")[::2] == (0, "")
    assert current_revision(engine) == "0004"
    assert _ran(store_url)[0] == 0
    assert current_revision(engine) == head
