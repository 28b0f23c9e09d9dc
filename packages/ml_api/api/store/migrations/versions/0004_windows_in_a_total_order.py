"""The windows' indexes cover their order's tie-breaker: the houses of one request share their
time, as the sales of one batch do, so a window is taken newest first by time, then by id.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_predictions_created_at", table_name="predictions")
    op.create_index("ix_predictions_created_at_id", "predictions", ["created_at", "id"])
    op.drop_index("ix_sales_received_at", table_name="sales")
    op.create_index("ix_sales_received_at_prediction_id", "sales", ["received_at", "prediction_id"])


def downgrade() -> None:
    op.drop_index("ix_sales_received_at_prediction_id", table_name="sales")
    op.create_index("ix_sales_received_at", "sales", ["received_at"])
    op.drop_index("ix_predictions_created_at_id", table_name="predictions")
    op.create_index("ix_predictions_created_at", "predictions", ["created_at"])
