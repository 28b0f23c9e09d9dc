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

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op
from sqlalchemy import text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEX = "ix_predictions_model_version_created_at_id"


@contextmanager
def _concurrently() -> Iterator[bool]:
    """Outside any transaction, with no bound on a lock's wait, on PostgreSQL (``True``);
    as it is elsewhere (``False``)."""
    if op.get_bind().dialect.name != "postgresql":
        yield False
        return
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = 0")
        try:
            yield True
        finally:
            op.execute("RESET lock_timeout")


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
