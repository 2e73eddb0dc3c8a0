"""Schedules fire each cron slot once, across restarts and watchers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gazer.errors import InvalidInput
from gazer.triggers.ledger import WatchLedger
from gazer.triggers.schedule import Schedule, Scheduler, load_schedules

UTC = dt.UTC


def test_each_slot_fires_once_even_with_two_schedulers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    started: list[str] = []
    hourly = Schedule("ingest", "0 * * * *", "summarizer", {"evaluate.sample": 5})
    one = Scheduler([hourly], WatchLedger(url), lambda s: started.append(s.name) or "ok")
    two = Scheduler([hourly], WatchLedger(url), lambda s: started.append(s.name) or "ok")
    at = dt.datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
    assert one.fire_due(at) == [("ingest", "done")]
    assert two.fire_due(at) == []
    assert one.fire_due(at + dt.timedelta(minutes=20)) == []  # same slot, 10:00
    assert two.fire_due(at + dt.timedelta(hours=3)) == [("ingest", "done")]  # 13:00 only
    assert started == ["ingest", "ingest"]


def test_a_failing_run_is_recorded_and_the_next_slot_still_fires(tmp_path: Path) -> None:
    ledger = WatchLedger(f"sqlite:///{tmp_path / 'runs.db'}")

    def boom(_s: Schedule) -> str:
        raise RuntimeError("pipeline failed")

    scheduler = Scheduler([Schedule("n", "*/5 * * * *", "p")], ledger, boom)
    at = dt.datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert scheduler.fire_due(at) == [("n", "failed")]
    assert scheduler.fire_due(at + dt.timedelta(minutes=5)) == [("n", "failed")]
    assert "pipeline failed" in (ledger.entries()[0].result or "")


def test_bad_cron_expressions_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not a cron expression"):
        Schedule("x", "every hour", "p")
    with pytest.raises(InvalidInput, match="needs name, cron and pipeline"):
        load_schedules([{"name": "x"}])
