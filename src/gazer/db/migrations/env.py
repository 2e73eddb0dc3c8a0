"""Alembic's entry point for gazer's schema; ``gazer.db.database.upgrade`` hands it the
connection (there is no alembic.ini: the platform migrates on open)."""

from __future__ import annotations

from alembic import context

from gazer.db.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=context.config.get_main_option("version_table") or "gazer_alembic_version",
    render_as_batch=True,  # SQLite alters a table by copying it
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
