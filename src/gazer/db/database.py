"""``Database``: the one owner of gazer's SQL engine, sessions and schema.

Every table gazer keeps (runs, steps, batch chunks, the watcher's ledger, the prediction
log, swaps) lives in one database: SQLite under ``GAZER_HOME`` by default (WAL mode, so
``gazer runs`` reads while a run writes), PostgreSQL with a ``postgresql+psycopg://`` URL,
or ``sqlite://`` in memory. Opening a ``Database`` brings its schema to the newest
migration (Alembic, version table ``gazer_alembic_version`` so it never meets MLflow's own
``alembic_version`` in a shared database). A home made before migrations existed has its
tables but no version table; the first migration creates only what is missing, so it
upgrades in place with its rows intact.
"""

from __future__ import annotations

import fcntl
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from gazer.errors import RunStoreError

VERSION_TABLE = "gazer_alembic_version"
_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK = 0x67617A6572  # "gazer": the advisory lock migrations take on PostgreSQL


class Database:
    """Engine and sessions for ``url``; the schema is upgraded on open (``migrate=False``
    opens as is, for tools that inspect an old database)."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
            if migrate:
                upgrade(self.engine, url)
        except SQLAlchemyError as exc:
            raise RunStoreError(f"cannot open the database at {safe_url(url)}: {exc}") from exc

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction, committed on exit; database errors become
        ``RunStoreError`` (503) with the URL, never its password."""
        try:
            with Session(self.engine) as s, s.begin():
                yield s
        except SQLAlchemyError as exc:
            raise RunStoreError(f"database {safe_url(self.url)} failed: {exc}") from exc

    def revision(self) -> str | None:
        """The migration the database is at (``None`` before the first)."""
        with self.engine.connect() as conn:
            return current_revision(conn)

    def close(self) -> None:
        self.engine.dispose()


def open_database(db: Database | str) -> tuple[Database, bool]:
    """``db`` itself (shared, the caller does not close it), or a new ``Database`` for a
    URL (owned: the caller closes it)."""
    return (db, False) if isinstance(db, Database) else (Database(db), True)


@functools.cache
def head_revision() -> str:
    """The newest migration this release knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def upgrade(engine: Engine, url: str) -> None:
    """Bring the schema to the head migration; a no-op (one query) when it is there.

    Processes that open one database together (``gazer serve`` beside ``gazer watch``)
    take turns: a file lock beside a SQLite file, an advisory lock on PostgreSQL.
    """
    with engine.connect() as conn:
        if current_revision(conn) == head_revision():
            return
    with _migration_lock(engine, url), engine.begin() as conn:
        if current_revision(conn) == head_revision():  # another process did it meanwhile
            return
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


@contextmanager
def _migration_lock(engine: Engine, url: str) -> Iterator[None]:
    path = _sqlite_path(url)
    if path:
        with open(f"{path}.migrate-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK})
    else:
        yield


def _sqlite_path(url: str) -> str | None:
    if not url.startswith("sqlite") or url in ("sqlite://", "sqlite:///:memory:"):
        return None
    return url.split("///", 1)[-1] or None


def make_engine(url: str) -> Engine:
    """An engine for ``url``: one shared connection for in-memory SQLite, WAL for a
    SQLite file (its folder made first), a pre-pinging pool for a server."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return create_engine(
            "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
    path = _sqlite_path(url)
    if url.startswith("sqlite"):
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def process_alive(pid: int, since: float) -> bool:
    """Whether the process ``pid`` that took a row at ``since`` still runs (a recycled
    pid belongs to a process started later), so rows of dead owners can be taken over."""
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.create_time() <= since + 1 and (
            proc.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.Error:
        return False


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
