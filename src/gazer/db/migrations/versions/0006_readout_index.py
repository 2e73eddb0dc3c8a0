"""A covering index for the quality and A/B readouts' aggregates.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_gazer_predictions_readout", "gazer_predictions",
                    ["endpoint", "at", "version", "role", "status", "latency_ms", "confidence"])


def downgrade() -> None:
    op.drop_index("ix_gazer_predictions_readout", "gazer_predictions")
