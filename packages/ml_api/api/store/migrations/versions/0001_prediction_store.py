"""The prediction store: priced houses, and their sale prices.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("house", Document, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("log_price", sa.Float, nullable=False),
        sa.Column("lower", sa.Float, nullable=False),
        sa.Column("upper", sa.Float, nullable=False),
        sa.Column("calibrated", sa.Boolean, nullable=False),
        sa.Column("warned_fields", Document, nullable=False),
    )
    op.create_index("ix_predictions_created_at", "predictions", ["created_at"])
    op.create_table(
        "sales",
        sa.Column(
            "prediction_id",
            sa.String(40),
            sa.ForeignKey("predictions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("sale_price", sa.Float, nullable=False),
        sa.Column("log_sale_price", sa.Float, nullable=False),
        sa.Column("sold_on", sa.Date, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sales_received_at", "sales", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_sales_received_at", table_name="sales")
    op.drop_table("sales")
    op.drop_index("ix_predictions_created_at", table_name="predictions")
    op.drop_table("predictions")
