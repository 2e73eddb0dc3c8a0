"""The prediction log keeps payloads as the endpoint says, loses nothing while the database is
down, and enforces retention."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text

from gazer.monitoring.predictions import Prediction, PredictionLog
from gazer.storage.memory import MemoryStorage


def _p(rid: str, inputs: object = None, mode: str = "full", at: float | None = None,
       outputs: object = None) -> Prediction:
    return Prediction(endpoint="e", model="m", version=1, role="champion", status=200,
                      latency_ms=1.0, input_digest="", output="", request_id=rid,
                      inputs=inputs, outputs=outputs if outputs is not None else
                      {"predict": np.array([3])}, mode=mode, at=at or time.time())


def _log(tmp_path: Path, **kw: object) -> tuple[PredictionLog, MemoryStorage]:
    storage = MemoryStorage()
    return PredictionLog(f"sqlite:///{tmp_path / 'g.db'}", flush_s=0.05, storage=storage,
                         **kw), storage  # type: ignore[arg-type]


def test_each_mode_keeps_what_it_says(tmp_path: Path) -> None:
    log, storage = _log(tmp_path, max_payload_bytes=200)
    words = np.array([["a", "b", "c", "d", "e", "f"]], dtype=object)
    log.record(_p("full", words))
    log.record(_p("summary", np.arange(6.0).reshape(1, 6), mode="summary"))
    log.record(_p("none", words, mode="none"))
    log.record(_p("big", "x" * 1000))
    log.record(_p("image", b"\x89PNG fake bytes"))
    log.flush()
    rows = {r["request_id"]: r for r in log.recent()}
    log.close()
    assert json.loads(rows["full"]["input"]) == [["a", "b", "c", "d", "e", "f"]]
    assert json.loads(rows["full"]["output"]) == {"predict": [3]}
    assert rows["full"]["answer"] == "3" and rows["full"]["payload_key"] is None
    summary = json.loads(rows["summary"]["input"])
    assert summary == {"type": "array", "shape": [1, 6], "mean": 2.5,
                       "std": summary["std"], "min": 0.0, "max": 5.0}
    assert rows["none"]["input"] is None and rows["none"]["output"] == ""
    assert rows["none"]["input_digest"] and rows["none"]["answer"] == "3"
    for rid, suffix in (("big", ".json"), ("image", ".bin")):
        key = rows[rid]["payload_key"]
        assert key.endswith(suffix) and f"/{rid}-champion" in key
        assert json.loads(rows[rid]["input"])["stored"] == key
    assert json.loads(storage.read_bytes(rows["big"]["payload_key"]))["input"] == "x" * 1000
    assert storage.read_bytes(rows["image"]["payload_key"]) == b"\x89PNG fake bytes"


def test_rows_wait_while_the_database_is_down_and_are_written_when_it_is_back(
        tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    with log.engine.begin() as conn:  # the table goes away: every write fails
        conn.execute(text("ALTER TABLE gazer_predictions RENAME TO gazer_predictions_away"))
    for i in range(20):
        log.record(_p(f"r{i}", [i]))
    deadline = time.time() + 10
    while log.write_errors < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert log.write_errors >= 2 and log.written == 0 and log.pending == 20
    with log.engine.begin() as conn:
        conn.execute(text("ALTER TABLE gazer_predictions_away RENAME TO gazer_predictions"))
    log.flush()
    assert log.written == 20 and log.dropped == 0
    assert sorted(r["request_id"] for r in log.recent(limit=50)) == sorted(
        f"r{i}" for i in range(20))
    log.close()


def test_only_rows_beyond_the_queue_bound_are_dropped_and_counted(tmp_path: Path) -> None:
    log, _ = _log(tmp_path, max_pending=5)
    log._stop.set()  # noqa: SLF001 - hold the writer so the queue fills
    log._thread.join()  # noqa: SLF001
    for i in range(8):
        log.record(_p(f"r{i}"))
    assert log.pending == 5 and log.dropped == 3
    log.close()


def test_retention_by_age_and_by_rows(tmp_path: Path) -> None:
    log, _ = _log(tmp_path, retention_days=1.0, retention_rows=3, retention_every_s=3600)
    now = time.time()
    log.record(_p("old", at=now - 3 * 86400))
    for i in range(5):
        log.record(_p(f"new{i}", at=now - i))
    log.flush()
    assert log.enforce_retention(now) == 3  # the old one, then the two beyond 3 rows
    remaining = {r["request_id"] for r in log.recent()}
    assert remaining == {"new2", "new3", "new4"}  # the newest rows by id stay
    log.close()


def test_retention_deletes_the_payload_objects_of_the_rows_it_removes(tmp_path: Path) -> None:
    log, storage = _log(tmp_path, retention_days=1.0, retention_rows=None,
                        retention_every_s=3600)
    now = time.time()
    log.record(_p("old", b"old image", at=now - 3 * 86400))
    log.record(_p("new", b"new image", at=now))
    log.flush()
    keys = {r["request_id"]: r["payload_key"] for r in log.recent()}
    assert storage.exists(keys["old"]) and storage.exists(keys["new"])
    assert log.enforce_retention(now) == 1
    assert not storage.exists(keys["old"]) and storage.exists(keys["new"])
    log.close()
