"""JSON documents kept as text on PostgreSQL (``json``, not ``jsonb``): see ``tables.Document``.

Revision ID: 0003
Revises: 0002

Elsewhere (SQLite) a document is text already: nothing to do. On PostgreSQL the tables are
rewritten, once: on a large store, a migration to run while the service is down.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Every document column: its table and its name.
DOCUMENTS = (
    ("predictions", "house"),
    ("predictions", "warned_fields"),
    ("challenger_prices", "warned_fields"),
)


def _retype(new: sa.types.TypeEngine[object], old: sa.types.TypeEngine[object], cast: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in DOCUMENTS:
        op.alter_column(
            table,
            column,
            type_=new,
            existing_type=old,
            existing_nullable=False,
            postgresql_using=f"{column}::{cast}",
        )


def upgrade() -> None:
    _retype(sa.JSON(), JSONB(), "json")


def downgrade() -> None:
    _retype(JSONB(), sa.JSON(), "jsonb")
