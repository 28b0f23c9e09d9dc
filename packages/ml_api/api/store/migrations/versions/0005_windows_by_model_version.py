"""The monitoring windows hold the houses of the model served: an index by version, then by the
windows' order, so that a version with few houses (just promoted) among many of another's is
found by a range of the index, not by reading every house.

Revision ID: 0005
Revises: 0004

On PostgreSQL the index is built CONCURRENTLY: a plain build holds a lock that blocks every
write to the table until it ends (on a large store minutes of the writer's statements failing
at their 5 s bound), a concurrent one a lock that blocks none (SHARE UPDATE EXCLUSIVE: only
VACUUM, ANALYZE and other DDL wait for it). The build runs outside a transaction (Alembic's
``autocommit_block`` commits this migration's transaction before it, each migration having its
own, ``migrations/env.py``; which is why the migration lock is the session's,
``api.store.database.one_migration_at_a_time``), and so:

- it waits without bound (``lock_timeout`` 0, restored after): it waits for every transaction
  open on the database to end, a backup's included, and blocks nobody meanwhile, whereas at the
  store's 5 s bound it failed at the end of its build whenever one lasted longer, and failed
  again at each rerun. A long wait shows in ``pg_stat_progress_create_index`` (its phase) and,
  past 15 minutes, fires ``MlApiMigrationSlow``;
- a build that failed (cancelled, the connection lost) leaves an INVALID index of its name,
  which writes keep up to date and no query uses: it is dropped (CONCURRENTLY) before the build,
  so that a rerun succeeds; a valid one of that name (the build done, the version not recorded)
  is kept (IF NOT EXISTS), and the rerun records the version.

Any later migration that builds an index on a table the service writes follows this one
(``_concurrently``). SQLite builds it plainly: its file is migrated before a server uses it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEX = "ix_predictions_model_version_created_at_id"

logger = logging.getLogger(__name__)


@contextmanager
def _concurrently() -> Iterator[bool]:
    """Outside any transaction, with no bound on a lock's wait, on PostgreSQL (``True``);
    as it is elsewhere (``False``).

    A failed build's error is the one raised, as ``make migrate`` prints one line of it: on a
    connection lost under the build (an operator's ``pg_terminate_backend``, a restart) the
    reset of ``lock_timeout`` and Alembic's end of the autocommit block fail too ("Can't
    reconnect until invalid transaction is rolled back"), and each error hid the build's; they
    are logged instead. A lost connection is not reset: its session, the setting with it, is
    gone."""
    if op.get_bind().dialect.name != "postgresql":
        yield False
        return
    failure: BaseException | None = None
    try:
        with op.get_context().autocommit_block():
            op.execute("SET lock_timeout = 0")
            try:
                yield True
            except BaseException as error:
                failure = error
                _reset_lock_timeout_after_failure()
                raise
            op.execute("RESET lock_timeout")
    except SQLAlchemyError as error:
        if failure is None or error is failure:
            raise
        logger.warning("the autocommit block did not end after the failed build: %s", error)
        raise failure from failure.__cause__  # shown with its own cause, as it was raised


def _reset_lock_timeout_after_failure() -> None:
    """``RESET lock_timeout`` after a failed build, on a connection still open (the pool
    keeps it); its own error logged, not raised over the build's."""
    if op.get_bind().invalidated:  # lost
        return
    try:
        op.execute("RESET lock_timeout")
    except SQLAlchemyError as error:
        logger.warning("lock_timeout was not reset after the failed build: %s", error)


def _drop_if_invalid(name: str) -> None:
    """Drop the index ``name`` if a failed CONCURRENTLY build left it INVALID."""
    invalid = op.get_bind().scalar(
        text("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"),
        {"name": name},
    )
    if invalid:
        op.drop_index(name, table_name="predictions", postgresql_concurrently=True, if_exists=True)


def upgrade() -> None:
    with _concurrently() as concurrently:
        if concurrently:
            _drop_if_invalid(INDEX)
        op.create_index(
            INDEX,
            "predictions",
            ["model_version", "created_at", "id"],
            postgresql_concurrently=concurrently,
            if_not_exists=concurrently or None,
        )


def downgrade() -> None:
    with _concurrently() as concurrently:
        op.drop_index(
            INDEX,
            table_name="predictions",
            postgresql_concurrently=concurrently,
            if_exists=concurrently or None,
        )
