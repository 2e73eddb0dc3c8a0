"""The prediction log's rollups agree with its rows, under several writers, and age out."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from gazer.db import Database, PredictionHistogramRow, PredictionMinuteRow, rollups
from gazer.monitoring.predictions import Prediction, PredictionLog
from gazer.monitoring.readout import quality


def _prediction(i: int, at: float, version: int | None = 1, status: int = 200) -> Prediction:
    return Prediction(endpoint="e", model="m", version=version, role="champion", status=status,
                      latency_ms=float(1 + i % 7), input_digest="d", output="",
                      request_id=f"r{i}", at=at,
                      outputs={"predict": [1], "probabilities": [[0.3, 0.7]]})


def _table(db: Database) -> list[tuple[int | None, float]]:
    with db.engine.connect() as conn:
        return [(v, float(a)) for v, a in conn.execute(
            select(PredictionMinuteRow.version, PredictionMinuteRow.predictions))]


def test_a_window_that_starts_mid_hour_counts_exactly_what_the_rows_say(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    log = PredictionLog(db, flush_s=0.05)
    now = time.time()
    times = now - np.linspace(0, 3 * 3600, 900)  # three hours back, one every 12 s
    for i, at in enumerate(times):
        log.record(_prediction(i, float(at), version=1 + i % 2, status=500 if i % 10 == 0
                               else 200))
    log.flush()
    log.close()
    since = now - 2.3 * 3600  # the head (to the next whole hour) is read from the rows
    report = quality(db, "e", since=since)
    for version in (1, 2):
        row = next(v for v in report["versions"] if v["version"] == version)
        idx = [i for i, at in enumerate(times) if at >= since and 1 + i % 2 == version]
        assert row["predictions"] == len(idx)
        assert row["errors"] == sum(1 for i in idx if i % 10 == 0)
        exact = float(np.percentile([1 + i % 7 for i in idx], 50, method="inverted_cdf"))
        assert row["latency_p50_ms"] == pytest.approx(exact, rel=0.005)
        assert row["estimate"]["value"] == pytest.approx(0.7)
    timeline = [t for t in report["timeline"] if t["version"] == 1]
    # whole minutes: the minute the window starts in counts whole
    assert len([i for i, at in enumerate(times) if at >= since and i % 2 == 0]) <= \
        sum(t["predictions"] for t in timeline) <= \
        len([i for i, at in enumerate(times) if at >= since - 60 and i % 2 == 0])
    db.close()


def test_two_writers_adding_to_the_same_minutes_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    logs = [PredictionLog(Database(url), flush_s=0.01) for _ in range(2)]
    at = time.time()

    def write(log: PredictionLog, offset: int) -> None:
        for i in range(500):
            log.record(_prediction(offset + i, at + i * 1e-4, version=None))
            if i % 50 == 0:
                time.sleep(0.005)  # many small flushes, interleaved with the other writer

    threads = [threading.Thread(target=write, args=(log, k * 1000))
               for k, log in enumerate(logs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for log in logs:
        log.flush()
        assert log.write_errors == 0
        log.close()
        log.db.close()
    db = Database(url)
    assert sum(n for _, n in _table(db)) == 1000
    assert {v for v, _ in _table(db)} == {rollups.NO_VERSION}
    with db.engine.connect() as conn:
        counts = conn.execute(select(func.sum(PredictionHistogramRow.count)).where(
            PredictionHistogramRow.metric == "latency")).scalar()
    assert counts == 1000
    assert quality(db, "e", since=at - 1)["versions"][0]["predictions"] == 1000
    db.close()


def test_rebuilding_from_the_rows_gives_what_the_writer_wrote(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    log = PredictionLog(db, flush_s=0.05)
    now = time.time()
    for i in range(300):
        log.record(_prediction(i, now - i * 37.0))
    log.flush()
    log.close()

    def snapshot() -> tuple[list[tuple], list[tuple]]:
        with db.engine.connect() as conn:
            return (sorted(tuple(r) for r in conn.execute(select(PredictionMinuteRow.__table__))),
                    sorted(tuple(r) for r in conn.execute(
                        select(PredictionHistogramRow.__table__))))

    written = snapshot()
    with db.engine.begin() as conn:
        assert rollups.rebuild(conn, batch=70) == 300
    assert snapshot() == written
    db.close()


def test_age_retention_removes_the_old_minutes_and_hours_too(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    log = PredictionLog(db, flush_s=0.05, retention_days=1, retention_rows=None)
    now = time.time()
    for i in range(10):
        log.record(_prediction(i, now - 3 * 86400 - i))  # three days old
        log.record(_prediction(100 + i, now - i))
    log.flush()
    assert log.enforce_retention(now) == 10
    log.close()
    assert sum(n for _, n in _table(db)) == 10
    with db.engine.connect() as conn:
        hours = {h for (h,) in conn.execute(select(PredictionHistogramRow.hour))}
    assert min(hours) >= int((now - 86400) // 3600)
    db.close()
