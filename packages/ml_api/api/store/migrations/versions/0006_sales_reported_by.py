"""Each sale says who posted it: ``sales.reported_by``, the name of the feedback token it came
with (``ML_API_FEEDBACK_TOKENS``' ``name:token``, or the token's place in the list).

Revision ID: 0006
Revises: 0005

The sales stored before it get the empty string (``tables.UNKNOWN_REPORTER``), which no token's
name is: who posted them was never kept. So does a sale posted, after it, to a replica of the
release before (a rolling update migrates the store while the old replicas still take sales,
and their inserts name no reporter): the column keeps that default, rather than have their
sales refused until the rollout ends. No table is rewritten and no index built: on PostgreSQL
(11 and later) a column added with a constant default is a change of the catalogue alone, its
lock held for a moment (within the migration's bound on a lock's wait); SQLite adds it in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: ``tables.UNKNOWN_REPORTER`` when this was written (a migration keeps its own values).
UNKNOWN_REPORTER = ""


def upgrade() -> None:
    op.add_column(
        "sales",
        sa.Column("reported_by", sa.String(40), nullable=False, server_default=UNKNOWN_REPORTER),
    )


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place too: nothing indexes or refers to it.
    op.drop_column("sales", "reported_by")
