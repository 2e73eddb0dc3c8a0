"""The prediction log's rollups (per-minute counts, per-hour histograms), filled from the
rows already logged.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _key() -> list[sa.Column]:
    return [sa.Column("endpoint", sa.String(200), primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("role", sa.String(20), primary_key=True)]


def upgrade() -> None:
    op.create_table(
        "gazer_prediction_minutes", *_key(),
        sa.Column("minute", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("predictions", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("latency_max", sa.Float, nullable=False),
    )
    op.create_table(
        "gazer_prediction_histograms", *_key(),
        sa.Column("hour", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("metric", sa.String(12), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    # the rows logged before this revision: the same code the log writer uses (it reads
    # only columns that exist since 0005)
    from gazer.db import rollups

    rollups.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("gazer_prediction_histograms")
    op.drop_table("gazer_prediction_minutes")
