"""The tables as the releases before migrations made them (``create_all``).

A home from such a release has some or all of them and no version table: only the missing
ones are created, so its rows stay as they are.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> dict[str, tuple[list[sa.Column], list[tuple[str, list[str]]], list]]:
    """name -> (columns, indexes, constraints), frozen as they were."""
    return {
        "gazer_runs": ([
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("pipeline", sa.String(200), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("params", sa.JSON, nullable=False),
            sa.Column("executor", sa.String(20), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("finished_at", sa.Float, nullable=True),
            sa.Column("host", sa.String(200), nullable=False),
            sa.Column("pid", sa.Integer, nullable=False),
            sa.Column("tracking_run_id", sa.String(64), nullable=True),
            sa.Column("error", sa.Text, nullable=True),
            sa.Column("resumes", sa.Integer, nullable=False),
        ], [("pipeline", ["pipeline"]), ("created_at", ["created_at"])], []),
        "gazer_steps": ([
            sa.Column("run_id", sa.String(32), primary_key=True),
            sa.Column("name", sa.String(200), primary_key=True),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("cache_key", sa.String(64), nullable=False),
            sa.Column("cached", sa.Boolean, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("started_at", sa.Float, nullable=True),
            sa.Column("finished_at", sa.Float, nullable=True),
            sa.Column("outputs", sa.JSON, nullable=False),
            sa.Column("metrics", sa.JSON, nullable=False),
            sa.Column("log_path", sa.Text, nullable=True),
            sa.Column("error", sa.Text, nullable=True),
            sa.Column("traceback", sa.Text, nullable=True),
        ], [("cache_key", ["cache_key"])], []),
        "gazer_batch_chunks": ([
            sa.Column("job_id", sa.String(64), primary_key=True),
            sa.Column("chunk", sa.Integer, primary_key=True),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("errors", sa.Integer, nullable=False),
            sa.Column("part_key", sa.String(500), nullable=False),
            sa.Column("finished_at", sa.Float, nullable=False),
        ], [], []),
        "gazer_watch_ledger": ([
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("binding", sa.String(200), nullable=False),
            sa.Column("key", sa.String(1000), nullable=False),
            sa.Column("version", sa.String(200), nullable=False),
            sa.Column("size", sa.Integer, nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("host", sa.String(200), nullable=False),
            sa.Column("pid", sa.Integer, nullable=False),
            sa.Column("started_at", sa.Float, nullable=False),
            sa.Column("finished_at", sa.Float, nullable=True),
            sa.Column("result", sa.Text, nullable=True),
        ], [], [sa.UniqueConstraint("binding", "key", "version")]),
        "gazer_predictions": ([
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.Float, nullable=False),
            sa.Column("endpoint", sa.String(200), nullable=False),
            sa.Column("model", sa.String(200), nullable=False),
            sa.Column("version", sa.Integer, nullable=True),
            sa.Column("role", sa.String(20), nullable=False),
            sa.Column("status", sa.Integer, nullable=False),
            sa.Column("latency_ms", sa.Float, nullable=False),
            sa.Column("input_digest", sa.String(64), nullable=False),
            sa.Column("output", sa.Text, nullable=False),
            sa.Column("request_id", sa.String(64), nullable=False),
        ], [("at", ["at"]), ("endpoint", ["endpoint"]), ("request_id", ["request_id"])], []),
    }


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, (columns, indexes, constraints) in _tables().items():
        if name in existing:
            continue
        op.create_table(name, *columns, *constraints)
        for suffix, cols in indexes:
            op.create_index(f"ix_{name}_{suffix}", name, cols)


def downgrade() -> None:
    for name in reversed(list(_tables())):
        op.drop_table(name)
