"""The monitoring windows hold the houses of the model served: an index by version, then by the
windows' order, so that a version with few houses (just promoted) among many of another's is
found by a range of the index, not by reading every house.

Revision ID: 0005
Revises: 0004

On PostgreSQL the build blocks writes to the table (the writer's queue holds the priced houses
meanwhile; a large store's build may outlast it: run this while the service is down).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_predictions_model_version_created_at_id",
        "predictions",
        ["model_version", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_predictions_model_version_created_at_id", table_name="predictions")
