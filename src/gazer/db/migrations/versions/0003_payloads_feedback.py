"""The prediction log keeps inputs and answers; feedback on predictions, with its history.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gazer_predictions") as batch:
        batch.add_column(sa.Column("input", sa.Text, nullable=True))
        batch.add_column(sa.Column("answer", sa.String(500), nullable=True))
        batch.add_column(sa.Column("payload_key", sa.String(500), nullable=True))
    op.create_index("ix_gazer_predictions_endpoint_version_at", "gazer_predictions",
                    ["endpoint", "version", "at"])
    op.create_table(
        "gazer_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("correct", sa.Boolean, nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("revisions", sa.Integer, nullable=False),
    )
    op.create_index("ix_gazer_feedback_endpoint", "gazer_feedback", ["endpoint"])
    op.create_index("ix_gazer_feedback_at", "gazer_feedback", ["at"])
    op.create_table(
        "gazer_feedback_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("correct", sa.Boolean, nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_gazer_feedback_history_request_id", "gazer_feedback_history",
                    ["request_id"])


def downgrade() -> None:
    op.drop_table("gazer_feedback_history")
    op.drop_table("gazer_feedback")
    op.drop_index("ix_gazer_predictions_endpoint_version_at", "gazer_predictions")
    with op.batch_alter_table("gazer_predictions") as batch:
        batch.drop_column("payload_key")
        batch.drop_column("answer")
        batch.drop_column("input")
