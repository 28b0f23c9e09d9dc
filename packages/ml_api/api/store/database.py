"""The store's database: an engine for its URL, and whether its migrations are applied.

``make migrate`` (``python -m api.store.database``) brings a database to the code's revision;
the service checks it at start-up and stops, saying so, when the database is behind.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from api.store.health import StoreHealth
from api.store.tables import MODEL_VERSION_LENGTH

MIGRATIONS = Path(__file__).parent / "migrations"

logger = logging.getLogger(__name__)


class StoreError(Exception):
    """The prediction store cannot be used as it is; the message says what to do."""


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


#: Connections to PostgreSQL a worker's two engines hold at most: the writers' (the priced
#: houses' and the challenger's, a thread each) and the store's (the monitor's refreshes and
#: the requests waiting on the store, ML_API_MAX_INFLIGHT_STORE_REQUESTS at most). The
#: database's max_connections is sized from them (deploy/kubernetes/base/db-statefulset.yaml,
#: checked by tests/test_kube_manifests.py).
WRITER_CONNECTIONS = 2
STORE_CONNECTIONS = 4
#: Connections an engine keeps open between uses; the rest of its allowance opens on demand.
_KEPT_CONNECTIONS = 2


def make_engine(url: str, *, connections: int = STORE_CONNECTIONS) -> Engine:
    """An engine for the store at ``url``, of at most ``connections`` connections at once to
    PostgreSQL; a SQLite file's folder is made if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, json_serializer=_json, json_deserializer=orjson.loads, connect_args={"timeout": 5}
        )
        event.listen(engine, "connect", _sqlite_settings)
        return engine
    return create_engine(
        url,
        json_serializer=_json,
        json_deserializer=orjson.loads,  # JSON columns read back (drift reads text itself)
        pool_size=min(_KEPT_CONNECTIONS, connections),
        max_overflow=connections - min(_KEPT_CONNECTIONS, connections),
        pool_pre_ping=True,
        connect_args={"connect_timeout": 3},
    )


def _sqlite_settings(connection: object, record: object) -> None:
    """WAL: writers do not block the readers of the monitoring queries; foreign keys on."""
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The revision the code needs."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None``: no migration applied)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


#: The PostgreSQL advisory lock a migration holds until its transaction ends. Each of the API's
#: replicas runs ``make migrate`` as it starts (the init container of
#: deploy/kubernetes/base/deployment.yaml), and two at once each found the database behind and
#: made the same tables: all but one failed on a duplicate key and were run again by the
#: kubelet, backing off. With the lock the others wait, then find the database at the
#: revision and do nothing. The key is arbitrary: a number nothing else on the database uses.
MIGRATION_LOCK = 0x6D6C5F617069  # "ml_api" in ASCII


def _one_migration_at_a_time(connection: Connection) -> None:
    """Wait for any other migration of this database to end (PostgreSQL; SQLite's file is
    migrated by the one process that makes it, ``Store.check``)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (the code's, by default), one migration at a time."""
    config = _alembic_config()
    with engine.begin() as connection:
        _one_migration_at_a_time(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the database to ``revision`` (``base``: nothing of the store left), one
    migration at a time."""
    config = _alembic_config()
    with engine.begin() as connection:
        _one_migration_at_a_time(connection)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def check_migrated(engine: Engine) -> None:
    """Raise ``StoreError`` unless the database is at the code's revision."""
    try:
        current = current_revision(engine)
    except Exception as error:  # any driver's error: say which store, not its password
        raise StoreError(
            f"the prediction store at {engine.url!r} cannot be reached: {type(error).__name__}"
        ) from error
    head = head_revision()
    if current != head:
        raise StoreError(
            f"the prediction store at {engine.url!r} is at revision {current or 'none'}, the "
            f"service needs {head}: run `make migrate` (python -m api.store.database)"
        )


def main() -> int:
    """``make migrate``: bring the configured store to the code's revision."""
    from api.config import Settings

    engine = make_engine(Settings().store_url)
    try:
        migrate(engine)
        print(f"prediction store at {engine.url!r}: revision {current_revision(engine)}")
    except SQLAlchemyError as error:  # one line in an init container's log, not a traceback
        print(f"make migrate: {_failure(engine, error)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _failure(engine: Engine, error: SQLAlchemyError) -> str:
    """What stopped a migration, on one line: the store (its password hidden, as ``repr``
    hides it) and the driver's first line, which says why (the server refused the connection,
    a password was wrong), with the password masked should a driver ever quote it."""
    cause = str(getattr(error, "orig", None) or error).strip().splitlines()
    said = f"{type(error).__name__}: {cause[0]}" if cause else type(error).__name__
    password = engine.url.password
    if password:
        said = said.replace(str(password), "***")
    return f"the prediction store at {engine.url!r} was not migrated: {said}"


if __name__ == "__main__":
    sys.exit(main())


def _fresh_sqlite(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database
    return (
        parsed.get_backend_name() == "sqlite"
        and database not in (None, "", ":memory:")
        and not Path(str(database)).exists()
    )


class Store:
    """The store as a process uses it: one engine, made on first use in that process (an
    engine's connections must not cross a fork: the server forks its workers after start-up)."""

    def __init__(self, url: str) -> None:
        self.url = url
        #: Whether the worker's writes and reads succeed (``ml_api_database_up``).
        self.health = StoreHealth()
        self._engine: Engine | None = None
        self._pid = 0

    @property
    def engine(self) -> Engine:
        if self._engine is None or self._pid != os.getpid():
            self._engine = make_engine(self.url)
            self._pid = os.getpid()
        return self._engine

    def check(self) -> None:
        """Raise ``StoreError`` unless the database is reachable and migrated (start-up).

        A SQLite file that does not exist yet (the embedded default, on a first start) is
        made, at the code's revision: there is nothing in it to be behind. An existing one, or
        any other database, must have been migrated (``make migrate``)."""
        engine = make_engine(self.url)
        try:
            if _fresh_sqlite(self.url):
                migrate(engine)
                logger.info("prediction store made at %r", engine.url)
            check_migrated(engine)
        finally:
            engine.dispose()

    @staticmethod
    def check_model_version(version: str, *, role: str) -> None:
        """Raise ``StoreError`` if the store cannot keep ``version`` (start-up): PostgreSQL
        refuses a longer one at every write (SQLite would keep it), so that nothing was
        recorded, and the writer tried again for ever."""
        if len(version) > MODEL_VERSION_LENGTH:
            raise StoreError(
                f"the {role} model's version {version!r} has {len(version)} characters; the "
                f"prediction store keeps at most {MODEL_VERSION_LENGTH}: release it under a "
                "shorter version, or serve it with recording off (ML_API_RECORDING=false)"
            )

    @staticmethod
    def check_challenger_version(challenger: str, *, serving: str) -> None:
        """Raise ``StoreError`` if the challenger's version is the serving model's (start-up):
        the store tells their prices apart by version, so a comparison of one version with
        itself read every pair both ways round, as if the roles had been swapped by a
        promotion, and judged a model against itself."""
        if challenger == serving:
            raise StoreError(
                f"the challenger's version {challenger!r} is the serving model's: the "
                "prediction store tells their prices apart by version; release the challenger "
                "under a version of its own"
            )

    def close(self) -> None:
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()
        self._engine = None
