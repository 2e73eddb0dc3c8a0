"""The prediction log and the readouts from the shell."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from gazer.db import Database
from gazer.monitoring.feedback import FeedbackStore
from gazer.monitoring.predictions import Prediction, PredictionLog
from tests.test_cli import _gazer


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    db = Database(f"sqlite:///{home / 'runs.db'}")
    log = PredictionLog(db, flush_s=0.05)
    for i in range(30):
        log.record(Prediction(endpoint="e", model="m", version=1 + i % 2, role="champion",
                              status=200, latency_ms=2.0, input_digest="", output="",
                              request_id=f"r{i}", inputs=[i], at=time.time() - 60,
                              outputs={"predict": np.array(["yes" if i % 3 else "no"],
                                                           dtype=object)}))
    log.flush()
    log.close()
    for i in range(30):
        FeedbackStore(db).give(f"r{i}", "e", label="yes")
    db.close()
    return home


def test_tail_export_query_and_quality_from_the_shell(tmp_path: Path) -> None:
    home = _home(tmp_path)
    tail = _gazer(home, "predictions", "tail", "e", "-n", "3")
    assert tail.returncode == 0, tail.stderr
    assert [line.split()[-2] for line in tail.stdout.splitlines()] == ["r27", "r28", "r29"]
    export = _gazer(home, "predictions", "export", "e", "--since", "1d")
    assert export.returncode == 0 and export.stdout.startswith("30 predictions over 1 day")
    query = _gazer(home, "query", "--format", "json", "SELECT version, count(*) AS n, "
                   "avg(CASE WHEN answer = feedback_label THEN 1 ELSE 0 END) AS acc "
                   "FROM monitoring.predictions GROUP BY 1 ORDER BY 1")
    assert query.returncode == 0, query.stderr
    assert [(r["version"], r["n"]) for r in json.loads(query.stdout)] == [(1, 15), (2, 15)]
    quality = _gazer(home, "monitor", "quality", "e")
    assert quality.returncode == 0 and "v1" in quality.stdout and "v2" in quality.stdout
    bad = _gazer(home, "predictions", "export", "e", "--since", "last tuesday")
    assert bad.returncode == 2 and "--since must be" in bad.stderr
    ab = _gazer(home, "monitor", "ab", "e")
    assert ab.returncode == 0 and "no challenger" in ab.stdout
