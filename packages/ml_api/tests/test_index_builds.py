"""Migrations that build an index on a table the service writes (0005): on PostgreSQL the build
blocks no write, the replicas still migrate one at a time across it, a failed build fails with
its own error, and a rerun after it succeeds (the migration's docstring says how)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from api.store.database import (
    MIGRATION_LOCK,
    current_revision,
    head_revision,
    make_engine,
    migrate,
)
from api.store.recorder import write_rows
from tests.stores import priced_request, wait_for

pytestmark = [
    pytest.mark.external,  # PostgreSQL is a Debian package
    pytest.mark.parametrize("store_url", ["postgresql"], indirect=True),
]

INDEX = "ix_predictions_model_version_created_at_id"
#: The store's bound on a lock's wait for the migration (``ML_API_STORE_STATEMENT_TIMEOUT``),
#: shorter than the transaction the tests keep open while it builds.
BOUND_SECONDS = 1.0


def _index_valid(engine: Engine) -> bool | None:
    """Whether ``INDEX`` is valid (``None``: there is none)."""
    with engine.connect() as connection:
        valid = connection.scalar(
            text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"),
            {"name": INDEX},
        )
    return None if valid is None else bool(valid)


def _write_open(connection: Connection, token: str) -> None:
    """Insert a house into ``predictions`` in a transaction left open (a writer's)."""
    connection.begin()
    write_rows(connection, priced_request(1, token).rows(0, 1))


#: The process of a migration's build of ``INDEX``, of ``pg_stat_activity``.
_BUILD = "query ILIKE 'CREATE INDEX%' AND query LIKE :index"


def _build_pid(engine: Engine, *, waiting: bool = False) -> int | None:
    """The process id of a migration's build of ``INDEX`` (``waiting``: one that waits for
    another transaction), or ``None``."""
    lock = " AND wait_event_type = 'Lock'" if waiting else ""
    with engine.connect() as connection:
        pid = connection.scalar(
            text(f"SELECT pid FROM pg_stat_activity WHERE {_BUILD}{lock}"), {"index": f"%{INDEX}%"}
        )
    return None if pid is None else int(pid)


def _building(engine: Engine) -> bool:
    """Whether a migration's build of ``INDEX`` waits for another transaction."""
    return _build_pid(engine, waiting=True) is not None


def _migration_lock_free(engine: Engine) -> bool:
    """Whether another replica could take ``MIGRATION_LOCK`` now (released again at once)."""
    with engine.connect() as replica:
        taken = replica.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        if taken:
            replica.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        replica.commit()
    return bool(taken)


@contextmanager
def _held_in_its_build(store_url: str, engine: Engine) -> Iterator[Future[None]]:
    """A migration from 0004, its build of ``INDEX`` held up (a writer's transaction open on
    the table) for longer than its bound, then let go; yields while it is held, and the
    migration's end after."""
    migrate(engine, "0004")
    migrating = make_engine(store_url, statement_timeout=BOUND_SECONDS, migrating=True)
    with engine.connect() as writer, ThreadPoolExecutor(1) as pool:
        _write_open(writer, "00000000000000aa")
        migration = pool.submit(migrate, migrating)
        try:
            wait_for(lambda: _building(engine) or migration.done())
            assert not migration.done(), migration.exception()
            yield migration
            time.sleep(2 * BOUND_SECONDS)  # longer than the store's bound on a lock's wait
        finally:
            writer.commit()
            try:
                migration.result(timeout=60)
            finally:
                migrating.dispose()


def test_building_the_index_blocks_no_write(store_url: str, engine: Engine) -> None:
    """A plain build waits behind the writer's open transaction for a lock that blocks writes:
    the writes queued behind it failed at their bound (the probe's insert cancelled at 0.3 s),
    and the build itself at its own (1 s)."""
    probe = make_engine(store_url, statement_timeout=0.3)
    try:
        # the insert fails at 0.3 s if a lock blocks it
        with _held_in_its_build(store_url, engine), probe.begin() as connection:
            write_rows(connection, priced_request(1, "00000000000000bb").rows(0, 1))
    finally:
        probe.dispose()
    assert current_revision(engine) == head_revision()
    assert _index_valid(engine) is True


def test_the_migration_lock_is_held_through_the_build(store_url: str, engine: Engine) -> None:
    """The build runs outside a transaction: a lock held until a transaction's end let another
    replica migrate alongside from the moment Alembic committed before it."""
    with _held_in_its_build(store_url, engine):
        free = _migration_lock_free(engine)
    assert free is False, "another replica could migrate during the build"
    assert current_revision(engine) == head_revision()


def _fail_a_build(engine: Engine) -> None:
    """Leave an INVALID ``INDEX`` behind, as a concurrent build stopped at its lock's bound
    does (after it entered the index in the catalogue, before it built it)."""
    with engine.connect() as writer, engine.connect() as builder:
        _write_open(writer, "00000000000000cc")
        builder = builder.execution_options(isolation_level="AUTOCOMMIT")
        builder.execute(text("SET lock_timeout = '100ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            builder.execute(
                text(
                    f"CREATE INDEX CONCURRENTLY {INDEX} "
                    "ON predictions (model_version, created_at, id)"
                )
            )
        writer.rollback()


@pytest.mark.parametrize("left", ["invalid", "valid"])
def test_a_rerun_after_a_failed_migration_succeeds(engine: Engine, left: str) -> None:
    """A build that failed leaves an INVALID index, one whose version was not recorded (the
    connection lost after the build) a valid one: either way the rerun ends at the head, its
    version recorded once, the index valid."""
    migrate(engine, "0004")
    if left == "invalid":
        _fail_a_build(engine)
    else:
        with engine.begin() as connection:
            connection.execute(
                text(f"CREATE INDEX {INDEX} ON predictions (model_version, created_at, id)")
            )
    assert _index_valid(engine) is (left == "valid")
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    assert _index_valid(engine) is True


def test_a_failed_migration_lets_the_next_replica_migrate(store_url: str, engine: Engine) -> None:
    """The migration lock is the session's: a migration that fails releases it, or its
    connection, back in the pool, kept it and every replica after waited for ever."""
    with engine.begin() as connection:  # a table the first migration cannot make
        connection.execute(text("CREATE TABLE predictions (id integer)"))
    other = make_engine(store_url)  # another replica's: none of the pool's connections
    try:
        with pytest.raises(ProgrammingError, match="already exists"):
            migrate(engine)
        free = _migration_lock_free(other)
        assert free is True, "the failed migration still holds the lock"
    finally:
        other.dispose()
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE predictions"))


def test_a_replica_waiting_its_turn_does_not_stop_the_build(store_url: str, engine: Engine) -> None:
    """A second replica waits for the migration lock while the first builds the index
    CONCURRENTLY: the build waits for every transaction with an older snapshot, the waiter's
    among them if it waits inside one, and the two would wait for each other (PostgreSQL then
    cancels one: deadlock detected). Both end, at the head."""
    second = make_engine(store_url, statement_timeout=BOUND_SECONDS, migrating=True)
    try:
        with ThreadPoolExecutor(1) as pool, _held_in_its_build(store_url, engine):
            waiting = pool.submit(migrate, second)
            time.sleep(3)  # past deadlock_timeout (1 s): the waiter is in its wait
            assert not waiting.done(), waiting.exception()
        waiting.result(timeout=60)
    finally:
        second.dispose()
    assert current_revision(engine) == head_revision()
    assert _index_valid(engine) is True


def _stop_the_build(
    store_url: str, engine: Engine, stop: str
) -> tuple[BaseException | None, str | None]:
    """A migration from 0004 whose build of ``INDEX`` is stopped by ``stop`` (a function of
    PostgreSQL's, given the build's process id) while it waits for a writer: what the migration
    raised, and the ``lock_timeout`` of its connection back in the pool (None: not pooled)."""
    migrate(engine, "0004")
    migrating = make_engine(store_url, statement_timeout=BOUND_SECONDS, migrating=True)
    try:
        with engine.connect() as writer, ThreadPoolExecutor(1) as pool:
            _write_open(writer, "00000000000000dd")
            migration = pool.submit(migrate, migrating)
            wait_for(lambda: _building(engine) or migration.done())
            pid = _build_pid(engine)
            with engine.connect() as operator:
                assert operator.scalar(text(f"SELECT {stop}(:pid)"), {"pid": pid}) is True
            error = migration.exception(timeout=60)
            writer.rollback()
        with migrating.connect() as pooled:  # the migration's, if the pool kept it
            kept = pooled.scalar(text("SELECT pg_backend_pid()")) == pid
            lock_timeout = pooled.scalar(text("SHOW lock_timeout")) if kept else None
    finally:
        migrating.dispose()
    return error, lock_timeout


def test_a_build_whose_connection_is_lost_fails_with_its_own_error(
    store_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The build's connection ended under it (an operator's ``pg_terminate_backend``, a
    restart): the migration fails with that error, which ``make migrate`` prints on its one
    line, not with the reset of ``lock_timeout`` on the lost connection after it, or Alembic's
    end of the autocommit block ("Can't reconnect until invalid transaction is rolled back");
    that one is logged."""
    error, lock_timeout = _stop_the_build(store_url, engine, "pg_terminate_backend")
    assert lock_timeout is None
    assert isinstance(error, OperationalError), repr(error)
    assert "terminating connection due to administrator command" in str(error)
    assert "did not end after the failed build: Can't reconnect" in caplog.text


def test_a_cancelled_build_fails_with_its_own_error_its_connection_bounded_again(
    store_url: str, engine: Engine
) -> None:
    """A build cancelled on a connection that stays open (``pg_cancel_backend``) fails with
    its own error, and the connection, back in the pool, waits on a lock no longer than the
    store's bound again: ``lock_timeout`` reset, not left at 0."""
    error, lock_timeout = _stop_the_build(store_url, engine, "pg_cancel_backend")
    assert isinstance(error, OperationalError), repr(error)
    assert "canceling statement due to user request" in str(error)
    assert lock_timeout == f"{BOUND_SECONDS:g}s"
