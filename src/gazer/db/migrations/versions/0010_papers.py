"""The papers app's record per paper, and its questions and chats.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gazer_papers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("authors", sa.Text, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("source_ref", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("words", sa.Integer, nullable=False),
        sa.Column("passages", sa.Integer, nullable=False),
        sa.Column("ocr_pages", sa.Integer, nullable=False),
        sa.Column("objects", sa.Text, nullable=False),
    )
    op.create_table(
        "gazer_paper_turns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("paper_id", sa.String(32), nullable=True),
        sa.Column("chat_id", sa.String(32), nullable=True),
        sa.Column("turn", sa.Integer, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("resolved", sa.Text, nullable=False),
        sa.Column("answerable", sa.Boolean, nullable=False),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_gazer_paper_turns_paper_id", "gazer_paper_turns", ["paper_id"])
    op.create_index("ix_gazer_paper_turns_chat_id", "gazer_paper_turns", ["chat_id"])
    op.create_index("ix_gazer_paper_turns_request_id", "gazer_paper_turns", ["request_id"])


def downgrade() -> None:
    op.drop_table("gazer_paper_turns")
    op.drop_table("gazer_papers")
