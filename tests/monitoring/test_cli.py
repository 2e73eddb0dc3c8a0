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


def test_monitor_drift_prints_each_test_and_exits_3_on_drift(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from gazer.core.context import store_profile
    from gazer.registry.promotion import promote
    from gazer.services import Services
    from gazer.settings import Settings

    home = tmp_path / "home"
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (400, 3))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    services = Services(Settings(home=home, tracking={"co2": False}))  # type: ignore[arg-type]
    version = services.registry.register("e", model, input_example=x[:2])
    promote(services.registry, "e", version.version)
    store_profile(services.storage, "e", version.version, model, x)
    services.close()
    assert _gazer(home, "monitor", "drift", "e").stdout.count("not known yet") == 1
    db = Database(f"sqlite:///{home / 'runs.db'}")
    log = PredictionLog(db, flush_s=0.05)
    for i, row in enumerate(rng.normal(2.0, 1, (200, 3))):  # production moved by 2 sd
        probs = model.predict_proba(row[None])
        log.record(Prediction(endpoint="e", model="e", version=version.version,
                              role="champion", status=200, latency_ms=1.0, input_digest="",
                              output="", request_id=f"d{i}", inputs=row[None],
                              outputs={"predict": probs.argmax(axis=1), "probabilities": probs}))
    log.flush()
    log.close()
    db.close()
    drifted = _gazer(home, "monitor", "drift", "e", "--window", "200")
    assert drifted.returncode == 3, drifted.stderr
    assert "DRIFT" in drifted.stdout and "x0" in drifted.stdout and "200 answers" in drifted.stdout
    report = json.loads(_gazer(home, "monitor", "drift", "e", "--json").stdout)
    assert report["drifted"] is True and "x0" in report["drivers"]
