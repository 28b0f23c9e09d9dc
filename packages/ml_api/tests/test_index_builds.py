"""The migration lock (``one_migration_at_a_time``) is the session's: the replicas migrate one
at a time across a migration that commits before its end, and a failed one lets the next in."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from api.store.database import MIGRATION_LOCK, make_engine, migrate

pytestmark = [
    pytest.mark.external,  # PostgreSQL is a Debian package
    pytest.mark.parametrize("store_url", ["postgresql"], indirect=True),
]


def test_a_failed_migration_lets_the_next_replica_migrate(store_url: str, engine: Engine) -> None:
    """The migration lock is the session's: a migration that fails releases it, or its
    connection, back in the pool, kept it and every replica after waited for ever."""
    with engine.begin() as connection:  # a table the first migration cannot make
        connection.execute(text("CREATE TABLE predictions (id integer)"))
    other = make_engine(store_url)  # another replica's: none of the pool's connections
    try:
        with pytest.raises(ProgrammingError, match="already exists"):
            migrate(engine)
        with other.connect() as replica:
            taken = replica.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK}
            )
            replica.execute(text("SELECT pg_advisory_unlock_all()"))
            replica.commit()
        assert taken is True, "the failed migration still holds the lock"
    finally:
        other.dispose()
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE predictions"))
