"""Drift: each logged answer's input features, and the drift checks' reports.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gazer_predictions") as batch:
        batch.add_column(sa.Column("features", sa.Text, nullable=True))
        batch.add_column(sa.Column("vector", sa.LargeBinary, nullable=True))
    op.create_table(
        "gazer_drift_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("drifted", sa.Boolean, nullable=True),
        sa.Column("n_window", sa.Integer, nullable=False),
        sa.Column("drivers", sa.Text, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
    )
    op.create_index("ix_gazer_drift_reports_at", "gazer_drift_reports", ["at"])
    op.create_index("ix_gazer_drift_reports_endpoint", "gazer_drift_reports", ["endpoint"])


def downgrade() -> None:
    op.drop_table("gazer_drift_reports")
    with op.batch_alter_table("gazer_predictions") as batch:
        batch.drop_column("vector")
        batch.drop_column("features")
