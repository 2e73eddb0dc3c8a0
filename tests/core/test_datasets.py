"""Dataset versions a user can get back: recorded per run, kept once by content, restored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from gazer.catalog import get_pipeline
from gazer.core.datasets import checkout, find, names, produced, versions
from gazer.core.runner import Runner
from gazer.db import Database
from gazer.registry.memory import MemoryRegistry
from gazer.settings import Settings
from gazer.storage.local import LocalStorage


def test_each_version_a_run_read_is_listed_with_its_runs_and_models_and_restored(
        make_runner: Callable[..., Runner], settings: Settings, registry: MemoryRegistry,
        tmp_path: Path) -> None:
    runner = make_runner()
    first = runner.run(get_pipeline("example"), {"load.n": 400})
    again = runner.run(get_pipeline("example"), {"load.n": 400, "select.margin": -1.0})
    other = runner.run(get_pipeline("example"), {"load.n": 500, "select.margin": -1.0})
    assert {r.status for r in (first, again, other)} == {"succeeded"}
    db = Database(settings.runs_url)
    storage = LocalStorage(settings.home / "storage")
    assert "breast_cancer" in names(db)
    found = versions(db, "breast_cancer")
    assert [v.rows for v in found] == [400, 500]  # the same content once, its two runs kept
    assert [len(v.runs) for v in found] == [2, 1]
    assert sorted(storage.list("datasets/breast_cancer/")) == sorted(v.key for v in found)
    made = produced(registry, {r["run_id"] for r in found[0].runs})
    assert sorted(m for ms in made.values() for m in ms) == ["example v1", "example v2"]

    restored = checkout(db, storage, found[1].digest[:10], tmp_path / "out")
    back = pd.read_parquet(restored)
    assert len(back) == 500 and "target" in back.columns
    assert restored.name.startswith("breast_cancer-") and not list(
        (tmp_path / "out").glob("*.part"))
    with pytest.raises(Exception, match="at least 6"):
        find(db, "abc")
    with pytest.raises(Exception, match="no dataset version"):
        find(db, "ffffffffff")
    db.close()


def test_nothing_is_kept_when_turned_off(make_runner: Callable[..., Runner],
                                         settings: Settings) -> None:
    settings.runs.keep_datasets = False
    assert make_runner().run(get_pipeline("example"), {}).status == "succeeded"
    db = Database(settings.runs_url)
    assert names(db) == []
    db.close()


def test_data_versions_and_checkout_from_the_shell(tmp_path: Path) -> None:
    from tests.test_cli import _gazer

    home = tmp_path / "home"
    run = _gazer(home, "run", "example", "--param", "load.n=300")
    assert run.returncode == 0, run.stderr
    listed = _gazer(home, "data", "versions")
    assert listed.returncode == 0 and "breast_cancer" in listed.stdout.split()
    shown = _gazer(home, "data", "versions", "breast_cancer")
    assert shown.returncode == 0, shown.stderr
    assert "300" in shown.stdout and "example v1" in shown.stdout
    digest = Database(f"sqlite:///{home / 'runs.db'}")
    found = versions(digest, "breast_cancer")[0].digest
    digest.close()
    restored = _gazer(home, "data", "checkout", found[:12], str(tmp_path / "back"))
    assert restored.returncode == 0, restored.stderr
    assert len(pd.read_parquet(next((tmp_path / "back").glob("*.parquet")))) == 300
    unknown = _gazer(home, "data", "versions", "nope")
    assert unknown.returncode == 2 and "breast_cancer" in unknown.stderr
