"""The run store on SQLite and on a real PostgreSQL: same code, same behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gazer import Pipeline, Settings, step
from gazer.core.runner import Runner
from gazer.core.runs import SqlRunStore
from gazer.errors import RunNotFound
from gazer.registry.memory import MemoryRegistry
from gazer.tracking.memory import MemoryTracker


@pytest.fixture(params=["sqlite-memory", "sqlite-file",
                        pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRunStore]:
    if request.param == "sqlite-memory":
        url = "sqlite://"
    elif request.param == "sqlite-file":
        url = f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = SqlRunStore(url)
    yield s
    s.close()


def test_runs_and_steps_are_stored_and_read_back(store: SqlRunStore) -> None:
    run = store.create_run("p", {"a.b": 1}, "local")
    store.save_step(run.id, "a", status="succeeded", cache_key="k1", outputs={"o": {"x": 1}},
                    started_at=1.0, finished_at=3.5)
    again = store.get_run(run.id)
    assert again.params == {"a.b": 1} and again.status == "running"
    assert again.step("a").duration_s == 2.5
    assert store.find_cached("k1") == {"o": {"x": 1}}
    assert store.find_cached("other") is None
    assert run.id in [r.id for r in store.list_runs("p")]


def test_unknown_runs_raise_run_not_found(store: SqlRunStore) -> None:
    with pytest.raises(RunNotFound, match="gazer runs list"):
        store.get_run("nope")


def test_a_run_whose_process_is_gone_is_reaped_as_interrupted(store: SqlRunStore) -> None:
    run = store.create_run("p", {}, "local")
    store.save_step(run.id, "a", status="running", cache_key="k")
    store.update_run(run.id, pid=2**22 + 12345)  # no such process
    assert store.reap_interrupted() == [run.id]
    assert store.get_run(run.id).status == "interrupted"
    assert store.get_run(run.id).step("a").status == "interrupted"


@step(outputs="n")
def one(k: int = 1) -> int:
    return k


def test_a_pipeline_runs_with_cache_hits_on_this_store(store: SqlRunStore, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", tracking={"co2": False})  # type: ignore[arg-type]
    runner = Runner(settings, store=store, tracker=MemoryTracker(), registry=MemoryRegistry())
    assert runner.run(Pipeline("one", [one])).status == "succeeded"
    assert runner.run(Pipeline("one", [one])).cache_hits == 1
    runner.close()
