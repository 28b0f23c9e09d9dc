"""``make migrate`` (``python -m api.store.database``) as Kubernetes runs it: in the init
container of every replica that starts, several at once, against a PostgreSQL that may not be
up yet."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import Engine, text

from api.store.database import (
    MIGRATION_LOCK,
    current_revision,
    head_revision,
    make_engine,
    one_migration_at_a_time,
)

pytestmark = pytest.mark.external  # PostgreSQL is a Debian package

ON_POSTGRES = pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)


#: The store's bound on a lock's wait for the command (``ML_API_STORE_STATEMENT_TIMEOUT``):
#: shorter than the other migration a test holds, which a replica waits for however long.
BOUND_SECONDS = "1"


def _make_migrate(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.store.database"],
        env={
            **os.environ,
            "ML_API_DATABASE_URL": url,
            "ML_API_STORE_STATEMENT_TIMEOUT": BOUND_SECONDS,
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
        with engine.begin() as connection:
            one_migration_at_a_time(connection)
            assert connection.execute(text("SHOW lock_timeout")).scalar() == "1500ms"
    finally:
        engine.dispose()
