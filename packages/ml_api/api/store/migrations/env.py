"""Alembic's environment: run on the connection ``api.store.database`` hands it.

Each migration runs in a transaction of its own, its version recorded in it
(``transaction_per_migration``): a failed migration leaves those before it applied and recorded,
and a rerun goes on from it. In one transaction for them all, PostgreSQL undid every migration
of the command when the last failed (SQLite, whose DDL Alembic does not take as transactional,
ran one a transaction already), and a migration committing early to build an index outside any
(0005's ``autocommit_block``) committed the ones before it in the middle of the command, as
Alembic's documentation warns.
"""

from __future__ import annotations

from alembic import context

from api.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    transaction_per_migration=True,
)
with context.begin_transaction():  # nothing here: each migration begins its own
    context.run_migrations()
