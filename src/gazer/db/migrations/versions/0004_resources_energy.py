"""The serving process's resource history, and each endpoint's share of its energy.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gazer_resource_samples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("interval_s", sa.Float, nullable=False),
        sa.Column("cpu_percent", sa.Float, nullable=False),
        sa.Column("cpu_seconds", sa.Float, nullable=False),
        sa.Column("rss_bytes", sa.BigInteger, nullable=False),
        sa.Column("read_bytes", sa.BigInteger, nullable=True),
        sa.Column("write_bytes", sa.BigInteger, nullable=True),
        sa.Column("net_sent_bytes", sa.BigInteger, nullable=True),
        sa.Column("net_recv_bytes", sa.BigInteger, nullable=True),
        sa.Column("disk_used_bytes", sa.BigInteger, nullable=True),
        sa.Column("energy_kwh", sa.Float, nullable=False),
        sa.Column("co2_kg", sa.Float, nullable=False),
    )
    op.create_index("ix_gazer_resource_samples_at", "gazer_resource_samples", ["at"])
    op.create_table(
        "gazer_endpoint_energy",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("predictions", sa.Integer, nullable=False),
        sa.Column("busy_s", sa.Float, nullable=False),
        sa.Column("energy_kwh", sa.Float, nullable=False),
        sa.Column("co2_kg", sa.Float, nullable=False),
    )
    op.create_index("ix_gazer_endpoint_energy_at", "gazer_endpoint_energy", ["at"])
    op.create_index("ix_gazer_endpoint_energy_endpoint", "gazer_endpoint_energy", ["endpoint"])


def downgrade() -> None:
    op.drop_table("gazer_endpoint_energy")
    op.drop_table("gazer_resource_samples")
