"""The windows' indexes cover their order's tie-breaker: the houses of one request share their
time, as the sales of one batch do, so a window is taken newest first by time, then by id. (The
monitoring windows take one model version's houses by 0005's index since; this one on
predictions serves the houses of every version: pruning, the store's newest house.)

Revision ID: 0004
Revises: 0003

The builds are plain (0005 came to build CONCURRENTLY after), in the migration's transaction
(its own, ``migrations/env.py``): on PostgreSQL each holds a lock on its table that blocks every
write to it until the migration commits, after both builds and the drops. Meanwhile each write
fails at the store's bound (``ML_API_STORE_STATEMENT_TIMEOUT``, 5 s): the recorder tries its
batch again, the houses waiting in each worker's bounded queue (beyond it, counted in
``ml_api_unrecorded_houses_total``), and ``POST /v1/sales`` is answered 503. On a large store,
migrate from 0003 while the service is down. A build waits for a lock no longer than that bound
either: a write's transaction open longer fails the migration, which leaves 0003 recorded, and
a rerun builds again.

Each new index is built before the one it replaces is dropped: a drop blocks reads as well, and
holds its lock only from then to the migration's commit, with nothing left to do between.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_predictions_created_at_id", "predictions", ["created_at", "id"])
    op.create_index("ix_sales_received_at_prediction_id", "sales", ["received_at", "prediction_id"])
    op.drop_index("ix_predictions_created_at", table_name="predictions")
    op.drop_index("ix_sales_received_at", table_name="sales")


def downgrade() -> None:
    op.create_index("ix_predictions_created_at", "predictions", ["created_at"])
    op.create_index("ix_sales_received_at", "sales", ["received_at"])
    op.drop_index("ix_predictions_created_at_id", table_name="predictions")
    op.drop_index("ix_sales_received_at_prediction_id", table_name="sales")
