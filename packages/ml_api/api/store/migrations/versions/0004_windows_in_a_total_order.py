"""The windows' indexes cover their order's tie-breaker: the houses of one request share their
time, as the sales of one batch do, so a window is taken newest first by time, then by id.

Revision ID: 0004
Revises: 0003

Each new index is built before the one it replaces is dropped: on PostgreSQL the build blocks
writes to its table (the writer's queue holds the priced houses meanwhile; a large store's
build may outlast it: run this while the service is down), and the drop, which blocks reads as
well, holds its lock only from then to the migration's commit, with nothing left to do between.
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
