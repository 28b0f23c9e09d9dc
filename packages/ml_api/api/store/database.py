"""The store's database: an engine for its URL, and whether its migrations are applied.

``make migrate`` (``python -m api.store.database``) brings a database to the code's revision;
the service checks it at start-up and stops, saying so, when the database is behind.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError

from api.config import STORE_STATEMENT_TIMEOUT
from api.store import migration_status
from api.store.health import StallWatch, StoreHealth
from api.store.tables import MODEL_VERSION_LENGTH

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

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
#: TCP keepalive probes unanswered after which the kernel drops a connection to PostgreSQL.
KEEPALIVE_PROBES = 3
#: How the API's connections name themselves to PostgreSQL (pg_stat_activity's
#: application_name): how an operator, or ``house-price-store restore`` refusing to restore
#: under a connected client, tells them from others. A URL's own ``application_name`` wins.
APPLICATION_NAME = "house-price-api"


def make_engine(
    url: str,
    *,
    connections: int = STORE_CONNECTIONS,
    statement_timeout: float = STORE_STATEMENT_TIMEOUT,
    migrating: bool = False,
    existing: bool = False,
) -> Engine:
    """An engine for the store at ``url``, of at most ``connections`` connections at once to
    PostgreSQL; a SQLite file's folder is made if missing.

    No statement waits longer than ``statement_timeout`` seconds (the setting
    ``ML_API_STORE_STATEMENT_TIMEOUT``) on a lock, nor on PostgreSQL runs longer, and a peer
    gone dead is noticed (``postgres_connect_args``); SQLite's busy timeout is the same bound.
    The statement then fails as any error of the store's does. ``migrating``: the migrations'
    engine, whose statements may rewrite a large table for longer, but whose waits on locks
    (the running service's, which would queue behind its own) are bounded all the same.
    ``existing``: a SQLite file that must be there already (the serving workers'), never made
    anew, and whose connections are dropped once it is gone (``_same_sqlite_file``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        plain = database and database != ":memory:" and not database.startswith("file:")
        file = Path(database) if plain and database else None
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        if file is not None and existing:  # read-write, never created (an SQLite URI filename)
            query = {**parsed.query, "mode": "rw", "uri": "true"}
            parsed = parsed.set(database=f"file:{quote(str(file))}", query=query)
        engine = create_engine(
            parsed,
            json_serializer=_json,
            json_deserializer=orjson.loads,
            connect_args={"timeout": statement_timeout},  # the busy timeout: a lock's wait
        )
        event.listen(engine, "connect", _sqlite_settings)
        if file is not None and existing:
            same_file = _same_sqlite_file(file)
            event.listen(engine, "connect", same_file.connected)
            event.listen(engine, "checkout", same_file.checked_out)
        return engine
    return create_engine(
        url,
        json_serializer=_json,
        json_deserializer=orjson.loads,  # JSON columns read back (drift reads text itself)
        pool_size=min(_KEPT_CONNECTIONS, connections),
        max_overflow=connections - min(_KEPT_CONNECTIONS, connections),
        pool_pre_ping=True,
        connect_args=postgres_connect_args(parsed, statement_timeout, migrating=migrating),
    )


def postgres_connect_args(url: URL, seconds: float, *, migrating: bool = False) -> dict[str, Any]:
    """libpq's parameters bounding what a connection to PostgreSQL waits for: the connection
    itself (3 s); each statement and each wait on a lock, server-side (``statement_timeout``
    and ``lock_timeout``, set at connection through ``options`` after any the URL gives:
    ``lock_timeout`` alone while ``migrating``); and a peer that no longer answers, noticed
    by the kernel within about twice ``seconds``: keepalives probe a connection waiting for
    an answer (it is idle), ``tcp_user_timeout`` drops one whose data go unacknowledged. The
    connection names itself ``APPLICATION_NAME`` unless the URL names it.

    A server whose kernel still answers for it (its process stopped, its container frozen,
    stuck on a disk) acknowledges the probes and runs no timer: a statement sent to it before
    waits until it is back (README, "When the store stalls")."""
    millis = max(1, math.ceil(seconds * 1000))
    bounds = [f"-c lock_timeout={millis}"]
    if not migrating:
        bounds.insert(0, f"-c statement_timeout={millis}")
    given = url.query.get("options")
    given = " ".join(given) if isinstance(given, tuple) else given
    named = {} if "application_name" in url.query else {"application_name": APPLICATION_NAME}
    return {
        **named,
        "connect_timeout": 3,
        "options": " ".join([given, *bounds] if given else bounds),
        "keepalives": 1,
        "keepalives_idle": math.ceil(seconds),
        "keepalives_interval": math.ceil(seconds / KEEPALIVE_PROBES),
        "keepalives_count": KEEPALIVE_PROBES,
        "tcp_user_timeout": 2 * millis,
    }


#: SQLSTATEs of a statement PostgreSQL cancelled at its bound: ``statement_timeout`` (or a
#: cancel request), ``lock_timeout``.
_CANCELLED = frozenset({"57014", "55P03"})


def timed_out(error: BaseException) -> bool:
    """Whether ``error`` (SQLAlchemy's, the driver's inside) is a statement stopped at the
    store's bound (``make_engine``) rather than a store that cannot be reached."""
    cause = getattr(error, "orig", error)
    if getattr(cause, "sqlstate", None) in _CANCELLED:
        return True
    code = getattr(cause, "sqlite_errorcode", None)  # extended codes keep the primary's byte
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _sqlite_settings(connection: object, record: object) -> None:
    """WAL: writers do not block the readers of the monitoring queries; foreign keys on."""
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class _same_sqlite_file:  # noqa: N801 (named as the check it is)
    """Drops a pooled connection to a SQLite file no longer at its path (deleted, or replaced
    by a copy): the open connection still wrote into the deleted file, every house and sale
    answered as recorded and ``ml_api_database_up`` 1, all of it lost at the next start. A
    connection is checked as it is taken from the pool (a ``stat``); one whose file is gone
    is replaced (``DisconnectionError``), and the new one, opened read-write without creating
    the file (``make_engine``'s ``existing``), fails until the file is back: the store's
    writes and reads fail as in an outage (houses kept queued, sales 503, the gauge 0)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _identity(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def connected(self, connection: object, record: Any) -> None:
        record.info["sqlite_file"] = self._identity()

    def checked_out(self, connection: object, record: Any, proxy: object) -> None:
        opened = record.info.get("sqlite_file")
        if opened is None or opened != self._identity():
            raise DisconnectionError(f"the SQLite file {self.path} is no longer there")


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


#: The PostgreSQL advisory lock a migration holds for the whole command. Each of the API's
#: replicas runs ``make migrate`` as it starts (the init container of
#: deploy/kubernetes/base/deployment.yaml), and two at once each found the database behind and
#: made the same tables: all but one failed on a duplicate key and were run again by the
#: kubelet, backing off. With the lock the others wait, then find the database at the
#: revision and do nothing. The key is arbitrary: a number nothing else on the database uses.
MIGRATION_LOCK = 0x6D6C5F617069  # "ml_api" in ASCII


#: How often a replica waiting for another's migration asks for ``MIGRATION_LOCK`` again.
MIGRATION_LOCK_POLL_SECONDS = 0.5


@contextmanager
def one_migration_at_a_time(connection: Connection) -> Iterator[None]:
    """Wait for any other migration of this database to end, however long it takes, and keep
    the others waiting until the ``with`` block ends (PostgreSQL; SQLite's file is migrated by
    the one process that makes it, ``Store.check``).

    The lock is the session's (a session-level advisory lock), not a transaction's: a migration that
    builds an index CONCURRENTLY (0005) commits Alembic's transaction before the build, and a
    transaction's lock would end there, letting the next replica migrate alongside. It is
    taken and committed before the block, so that Alembic begins and ends its own
    transactions on ``connection``, and released after it even when the migration failed; a
    connection on which the release fails is closed, which releases it too (a pooled
    connection would otherwise keep it, and every replica after would wait for ever).

    The wait, unbounded, is a try every ``MIGRATION_LOCK_POLL_SECONDS``, each its own
    transaction, not one blocking ``pg_advisory_lock``: a statement waiting holds its snapshot,
    a CONCURRENTLY build waits for every transaction with an older snapshot to end, and the two
    waited for each other (PostgreSQL cancelled one, "deadlock detected": the build, left
    INVALID, or the waiting replica). Between tries the connection holds no snapshot, and its
    ``lock_timeout`` (``make_engine``) stays the store's bound for the migration's own
    statements, whose waits on the running service's locks stay bounded."""
    if connection.dialect.name != "postgresql":
        yield
        return
    try:
        while not _took_migration_lock(connection):
            migration_status.note_waiting(True)  # what Prometheus sees meanwhile
            time.sleep(MIGRATION_LOCK_POLL_SECONDS)
    finally:
        migration_status.note_waiting(False)
    try:
        yield
    finally:
        _let_the_next_migrate(connection)


def _took_migration_lock(connection: Connection) -> bool:
    """Whether ``MIGRATION_LOCK`` was free, and is now the session's; the try committed."""
    with connection.begin():
        taken = connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK}
        )
    return bool(taken)


def _let_the_next_migrate(connection: Connection) -> None:
    """Release ``MIGRATION_LOCK``, or close ``connection``, whose session holds it."""
    try:
        if connection.in_transaction():  # a migration's that failed
            connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
    except SQLAlchemyError as error:  # the connection is lost, or unusable: close it
        logger.warning("the migration lock is released by closing its connection: %s", error)
        connection.invalidate()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (the code's, by default), one migration at a time.

    Alembic begins and commits each migration's transaction itself (``migrations/env.py``): a
    failed migration leaves those before it applied and recorded, and a migration may commit
    its own early to run a statement outside any (``autocommit_block``)."""
    _run_alembic(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the database to ``revision`` (``base``: nothing of the store left), one
    migration at a time."""
    _run_alembic(engine, command.downgrade, revision)


def _run_alembic(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Alembic's ``step`` (``command.upgrade`` or ``command.downgrade``) to ``revision`` on a
    connection of ``engine``, once this database's other migrations have ended."""
    config = _alembic_config()
    with engine.connect() as connection, one_migration_at_a_time(connection):
        config.attributes["connection"] = connection
        step(config, revision)


def _known(revision: str) -> bool:
    """Whether ``revision`` is one of this code's migrations (not a later release's)."""
    try:
        return ScriptDirectory(str(MIGRATIONS)).get_revision(revision) is not None
    except CommandError:  # Alembic's "Can't locate revision"
        return False


def _ahead(revision: str) -> str:
    """What to do with a store at ``revision``, a later release's: that release migrated it,
    and only its code can undo the migrations (this code has no script for them)."""
    return (
        f"revision {revision}, a later release's, which this code does not know: serve that "
        "release, or undo its migrations with that release's code first (`python -m "
        f"api.store.database --downgrade {head_revision()}`)"
    )


def check_migrated(engine: Engine) -> None:
    """Raise ``StoreError`` unless the database is at the code's revision, saying what to do:
    migrate a store behind, or undo a later release's migrations (a rollback of the code)."""
    try:
        current = current_revision(engine)
    except Exception as error:  # any driver's error: say which store, not its password
        raise StoreError(
            f"the prediction store at {engine.url!r} cannot be reached: {type(error).__name__}"
        ) from error
    head = head_revision()
    if current is not None and not _known(current):
        raise StoreError(f"the prediction store at {engine.url!r} is at {_ahead(current)}")
    if current != head:
        raise StoreError(
            f"the prediction store at {engine.url!r} is at revision {current or 'none'}, the "
            f"service needs {head}: run `make migrate` (python -m api.store.database)"
        )


def main(argv: list[str] | None = None) -> int:
    """``make migrate``: bring the configured store to the code's revision, or with
    ``--downgrade REVISION`` back to an earlier one (before rolling the code back to the release
    of that revision: its code refuses a store ahead of it, and has no script to undo it)."""
    from api.config import Settings

    parser = argparse.ArgumentParser(
        prog="python -m api.store.database",
        description="Migrate the prediction store (ML_API_DATABASE_URL) to this code's revision.",
    )
    parser.add_argument(
        "--downgrade",
        metavar="REVISION",
        help="undo the migrations after REVISION instead (base: every one)",
    )
    arguments = parser.parse_args(argv)
    settings = Settings()
    status = _serve_status()
    engine = make_engine(
        settings.store_url, statement_timeout=settings.store_statement_timeout, migrating=True
    )
    try:
        if arguments.downgrade is None:
            migrate(engine)
        else:
            downgrade(engine, arguments.downgrade)
        print(f"prediction store at {engine.url!r}: revision {current_revision(engine)}")
    except SQLAlchemyError as error:  # one line in an init container's log, not a traceback
        print(f"make migrate: {_failure(engine, error)}", file=sys.stderr)
        return 1
    except CommandError as error:  # a revision this code does not know: the store's, or asked
        current = current_revision(engine)
        said = f"it is at {_ahead(current)}" if current and not _known(current) else str(error)
        print(
            f"make migrate: the prediction store at {engine.url!r} was not migrated: {said}",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
        if status is not None:
            status.shutdown()
            status.server_close()
    return 0


def _serve_status() -> WSGIServer | None:
    """``migration_status`` served on the address the server will take (and Prometheus
    scrape), or ``None`` with one line on stderr when it cannot be: a server already on the
    port (a developer's ``make run``), or server settings the server itself will refuse (the
    migration goes on: the store's settings are apart)."""
    from api.config import ServerSettings

    try:
        server = ServerSettings()
    except ValidationError as error:
        names = ", ".join(".".join(map(str, problem["loc"])) for problem in error.errors())
        print(f"make migrate: its status is not served: invalid {names}", file=sys.stderr)
        return None
    try:
        return migration_status.serve(server.host, server.port)
    except OSError as error:
        print(
            f"make migrate: its status is not served on port {server.port} ({error})",
            file=sys.stderr,
        )
        return None


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

    def __init__(self, url: str, *, statement_timeout: float = STORE_STATEMENT_TIMEOUT) -> None:
        self.url = url
        #: Seconds a statement may take (``make_engine``), as the setting gives it.
        self.statement_timeout = statement_timeout
        #: Whether the worker's writes and reads succeed (``ml_api_database_up``).
        self.health = StoreHealth(statement_timeout=statement_timeout)
        #: The worker's look for a write or read the store holds for ever (its lifespan).
        self.stall_watch = StallWatch(self.health)
        self._engine: Engine | None = None
        self._pid = 0

    @property
    def engine(self) -> Engine:
        if self._engine is None or self._pid != os.getpid():
            self._engine = make_engine(
                self.url, statement_timeout=self.statement_timeout, existing=True
            )
            self._pid = os.getpid()
        return self._engine

    def check(self) -> None:
        """Raise ``StoreError`` unless the database is reachable and migrated (start-up).

        A SQLite file that does not exist yet (the embedded default, on a first start) is
        made, at the code's revision: there is nothing in it to be behind. An existing one, or
        any other database, must have been migrated (``make migrate``)."""
        engine = make_engine(self.url, statement_timeout=self.statement_timeout)
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
    def check_challenger_version(
        challenger: str,
        *,
        serving: str,
        challenger_file: Path,
        serving_file: Path | None,
        packaged: str,
    ) -> None:
        """Raise ``StoreError`` if the challenger's version is the serving model's (start-up):
        the store tells their prices apart by version, so a comparison of one version with
        itself read every pair both ways round, as if the roles had been swapped by a
        promotion, and judged a model against itself.

        The message names both files (``serving_file`` ``None``: the packaged model, of the
        installed package's version ``packaged``) and what to do. Most often the packaged model
        already is that version: a release installed (``make lock``, an image built from the
        release commit) while the settings still named the new version's file as the
        challenger of the packaged one."""
        if challenger != serving:
            return
        served = (
            f"ML_API_MODEL_ARTIFACT {serving_file}"
            if serving_file is not None
            else f"ML_API_MODEL_ARTIFACT unset: the packaged model, {packaged}"
        )
        problem = (
            f"the challenger's version {challenger!r} is the serving model's ({served}; "
            f"ML_API_CHALLENGER_ARTIFACT {challenger_file}): the prediction store tells their "
            "prices apart by version. "
        )
        if challenger == packaged:
            advice = (
                f"The packaged model is {packaged} already (the release is installed): to keep "
                f"the older version serving with {packaged} in the shadow, name the older "
                f"version's .joblib in ML_API_MODEL_ARTIFACT and a {packaged} file in "
                f"ML_API_CHALLENGER_ARTIFACT; to serve {packaged}, name the older version's "
                "file in ML_API_CHALLENGER_ARTIFACT, or unset it (no challenger)"
            )
        else:
            advice = (
                "Name another version's file in one of the two settings, or unset "
                "ML_API_CHALLENGER_ARTIFACT (no challenger); if the two are different models, "
                "release the challenger under a version of its own"
            )
        raise StoreError(problem + advice)

    def close(self) -> None:
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()
        self._engine = None
