"""The database owner: migrations reach the tables the code declares, on SQLite and
PostgreSQL, and a home made by the release before migrations upgrades in place."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from gazer.db import Base, Database, PredictionMinuteRow, SwapRow, head_revision
from gazer.db.database import VERSION_TABLE

FIXTURE = Path(__file__).parent.parent / "fixtures" / "old_home.tar.gz"


def _schema_drift(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE,
                                                     "compare_type": True})
        return [d for d in compare_metadata(ctx, Base.metadata)
                if not (isinstance(d, tuple) and d[0] == "remove_table"
                        and d[1].name == VERSION_TABLE)]


@pytest.mark.parametrize("kind", ["memory", "file", pytest.param("postgresql",
                                                                 marks=pytest.mark.integration)])
def test_a_new_database_is_migrated_to_exactly_the_declared_tables(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = {"memory": "sqlite://", "file": f"sqlite:///{tmp_path / 'g.db'}"}.get(kind) \
        or request.getfixturevalue("postgres_url")
    db = Database(url)
    try:
        assert db.revision() == head_revision()
        assert _schema_drift(db) == [], "a table changed without a migration"
        again = Database(url)  # opening a migrated database changes nothing
        assert again.revision() == head_revision()
        again.close()
    finally:
        db.close()


def test_processes_opening_one_new_database_together_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    code = "import sys; from gazer.db import Database; print(Database(sys.argv[1]).revision())"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
    assert {out.strip() for out, _ in results} == {head_revision()}


def _unpack_old_home(dest: Path) -> Path:
    """The fixture home, moved to ``dest`` as a user would move a folder: the absolute
    paths MLflow and the run store recorded are rewritten to the new place."""
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(dest, filter="data")
    origin = (dest / "ORIGIN").read_text().strip()
    for name in ("mlflow.db", "runs.db"):
        conn = sqlite3.connect(dest / name)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for col in conn.execute(f'PRAGMA table_info("{table}")').fetchall():
                if any(t in col[2].upper() for t in ("CHAR", "TEXT", "CLOB")):
                    conn.execute(f'UPDATE "{table}" SET "{col[1]}" = '
                                 f'replace("{col[1]}", ?, ?)', (origin, str(dest)))
        conn.commit()
        conn.close()
    return dest


def test_a_home_from_the_release_before_migrations_upgrades_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gazer.batch.progress_store import ChunkLedger
    from gazer.core.runs import SqlRunStore
    from gazer.monitoring.predictions import PredictionLog
    from gazer.registry.resolve import registry_from_settings
    from gazer.settings import get_settings
    from gazer.triggers.ledger import WatchLedger

    home = _unpack_old_home(tmp_path / "home")
    monkeypatch.setenv("GAZER_HOME", str(home))
    settings = get_settings()
    old = Database(settings.runs_url, migrate=False)
    assert old.revision() is None and "gazer_runs" in inspect(old.engine).get_table_names()
    assert "gazer_swaps" not in inspect(old.engine).get_table_names()
    old.close()

    db = Database(settings.runs_url)
    assert db.revision() == head_revision()
    assert _schema_drift(db) == []
    runs = SqlRunStore(db).list_runs()
    assert [r.pipeline for r in runs] == ["example"] and runs[0].status == "succeeded"
    assert {s.name for s in runs[0].steps} >= {"load", "split", "select"}
    assert all(s.status == "succeeded" for s in runs[0].steps)
    assert Path(runs[0].step("load").log_path or "").is_file()
    [entry] = WatchLedger(db).entries()
    assert (entry.key, entry.status) == ("raw/inbox/a.txt", "done")
    assert ChunkLedger(db).finished("job-1")[0].rows == 100
    log = PredictionLog(db)
    try:
        assert [r["request_id"] for r in log.recent(limit=10)] == [f"req-{i}" for i in
                                                                   range(4, -1, -1)]
    finally:
        log.close()
    with db.session() as s:
        assert s.scalars(select(SwapRow)).all() == []
        # the rows logged before the rollups existed are rolled up by the migration
        assert sum(s.scalars(select(PredictionMinuteRow.predictions))) == 5

    registry = registry_from_settings(settings)
    champion = registry.find_alias("example", "champion")
    assert champion is not None
    model = registry.load_model("example", "champion")
    assert model is not None
    db.close()


def test_gazer_db_status_then_upgrade_from_the_shell(tmp_path: Path) -> None:
    from tests.test_cli import _gazer

    home = _unpack_old_home(tmp_path / "home")
    before = _gazer(home, "db", "status")
    assert before.returncode == 0, before.stderr
    assert "made before migrations" in before.stdout and f"newest {head_revision()}" in \
        before.stdout
    upgraded = _gazer(home, "db", "upgrade")
    assert upgraded.returncode == 0 and f"at {head_revision()}" in upgraded.stdout
    assert "up to date" in _gazer(home, "db", "status").stdout
