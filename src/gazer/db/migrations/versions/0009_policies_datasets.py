"""Retraining policies' decisions, and the dataset versions runs read.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gazer_policy_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("fired", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("evidence", sa.Text, nullable=False),
    )
    op.create_index("ix_gazer_policy_decisions_at", "gazer_policy_decisions", ["at"])
    op.create_index("ix_gazer_policy_decisions_policy", "gazer_policy_decisions", ["policy"])
    op.create_table(
        "gazer_dataset_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("context", sa.String(40), nullable=False),
        sa.Column("rows", sa.Integer, nullable=True),
        sa.Column("key", sa.String(500), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_gazer_dataset_versions_name", "gazer_dataset_versions", ["name"])
    op.create_index("ix_gazer_dataset_versions_digest", "gazer_dataset_versions", ["digest"])


def downgrade() -> None:
    op.drop_table("gazer_dataset_versions")
    op.drop_table("gazer_policy_decisions")
