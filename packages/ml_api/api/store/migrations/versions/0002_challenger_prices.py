"""A challenger's prices: each house a second model priced in the shadow of the first.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "challenger_prices",
        sa.Column(
            "prediction_id",
            sa.String(40),
            sa.ForeignKey("predictions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("log_price", sa.Float, nullable=False),
        sa.Column("lower", sa.Float, nullable=False),
        sa.Column("upper", sa.Float, nullable=False),
        sa.Column("calibrated", sa.Boolean, nullable=False),
        sa.Column("warned_fields", Document, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("challenger_prices")
