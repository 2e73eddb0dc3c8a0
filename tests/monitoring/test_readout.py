"""Quality per version and A/B readouts: intervals, the sequential verdict, the split check,
and the promote route that asks for evidence."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest

from gazer.db import Database
from gazer.monitoring.feedback import FeedbackStore
from gazer.monitoring.predictions import Prediction, PredictionLog
from gazer.monitoring.readout import ab_readout, quality
from gazer.monitoring.stats import SequentialTest, sample_ratio_mismatch, wilson
from gazer.settings import EndpointSettings
from tests.serving.factory import body, client_for, registry_with


def test_wilson_matches_the_textbook_and_stays_in_0_1() -> None:
    interval = wilson(8, 10)
    assert interval.value == 0.8 and interval.n == 10
    assert round(interval.low or 0, 3) == 0.490 and round(interval.high or 0, 3) == 0.943
    assert wilson(0, 5).low == 0.0 and wilson(5, 5).high == 1.0
    assert wilson(0, 0).value is None


def test_the_sequential_test_waits_on_noise_and_says_how_many_labels_it_needs() -> None:
    test = SequentialTest()
    rng = random.Random(0)
    same = [float(rng.random() < 0.8) for _ in range(200)]
    other = [float(rng.random() < 0.8) for _ in range(200)]
    verdict = test.verdict(same, other)
    assert verdict.decision == "not known yet" and verdict.pairs == 200
    assert verdict.low is not None and verdict.low < 0 < (verdict.high or 0)
    better = test.verdict([0.0] * 40, [1.0] * 40)
    assert better.decision == "better" and better.labels_needed is None
    assert test.verdict([1.0] * 40, [0.0] * 40).decision == "worse"
    small = test.verdict([float(i % 10 < 7) for i in range(50)],
                         [float(i % 10 < 8) for i in range(50)])
    assert small.decision == "not known yet" and (small.labels_needed or 0) > 0


def test_a_skewed_canary_split_is_a_sample_ratio_mismatch() -> None:
    assert sample_ratio_mismatch(500, 500, 0.5).mismatch is False
    skewed = sample_ratio_mismatch(900, 100, 0.5)
    assert skewed.mismatch and (skewed.p_value or 1) < 1e-6


def _fill(db: Database, accuracy: dict[int, float], n: int, split: float = 0.5,
          role_of: dict[int, str] | None = None, shadow: bool = False) -> None:
    rng = np.random.default_rng(1)
    log = PredictionLog(db, flush_s=0.05)
    feedback = FeedbackStore(db)
    truths = {}
    for i in range(n):
        rid = f"r{i}"
        versions = [1, 2] if shadow else [2 if rng.random() < split else 1]
        truth = "yes"
        for v in versions:
            right = rng.random() < accuracy[v]
            role = (role_of or {1: "champion", 2: "challenger"})[v]
            log.record(Prediction(endpoint="e", model="m", version=v, role=role, status=200,
                                  latency_ms=float(v), input_digest="d", output="",
                                  request_id=rid, outputs={"predict": np.array(
                                      [truth if right else "no"], dtype=object)},
                                  at=time.time()))
        truths[rid] = truth
    log.flush()
    log.close()
    for rid, truth in truths.items():
        feedback.give(rid, "e", label=truth)


def test_quality_gives_each_version_its_accuracy_interval_and_latency(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    _fill(db, {1: 0.7, 2: 0.9}, 600)
    report = quality(db, "e")
    by_version = {v["version"]: v for v in report["versions"]}
    for version, truth in ((1, 0.7), (2, 0.9)):
        acc = by_version[version]["accuracy"]
        assert acc["low"] < truth < acc["high"] and acc["n"] == by_version[version]["predictions"]
        # read from 1%-wide log-scale buckets: within half a percent
        assert by_version[version]["latency_p50_ms"] == pytest.approx(version, rel=0.005)
    assert report["daily"] and report["daily"][0]["n"] > 0
    db.close()


def test_a_canary_readout_calls_the_better_challenger_better(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    _fill(db, {1: 0.6, 2: 0.9}, 800)
    readout = ab_readout(db, "e", 1, 2, "canary", 0.5)
    assert readout["active"] and readout["verdict"]["decision"] == "better"
    assert readout["sample_ratio"]["mismatch"] is False
    skewed = ab_readout(db, "e", 1, 2, "canary", 0.05)  # the split is not what it says
    assert skewed["sample_ratio"]["mismatch"] and skewed["verdict"]["decision"] == "not known yet"
    assert ab_readout(db, "e", 1, None, "champion", 0.1)["active"] is False
    db.close()


def test_a_shadow_readout_pairs_answers_to_the_same_request_and_measures_agreement(
        tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    _fill(db, {1: 0.9, 2: 0.5}, 400, role_of={1: "champion", 2: "shadow"}, shadow=True)
    readout = ab_readout(db, "e", 1, 2, "shadow", 0.1)
    assert readout["verdict"]["decision"] == "worse" and readout["verdict"]["pairs"] == 400
    agreement = readout["agreement"]
    assert agreement["n"] == 400 and 0.3 < agreement["value"] < 0.7
    db.close()


@pytest.mark.parametrize("enough", [False, True])
def test_promote_with_require_evidence_needs_a_winning_readout(tmp_path: Path,
                                                                enough: bool) -> None:
    registry = registry_with(2)
    registry.set_alias("m", "challenger", 2)
    endpoint = EndpointSettings(name="m", policy="canary", canary_weight=0.5)
    key = {"X-API-Key": "a" * 20}
    with client_for(tmp_path, registry, endpoint, admin_api_key="a" * 20) as client:
        for i in range(120 if enough else 6):
            r = client.post("/v2/models/m/infer", json=body(), headers={**key,
                                                                     "X-Request-Key": f"u{i}"})
            # the truth is "2": version 2 answers it, version 1 does not
            client.post("/v2/feedback", json={"request_id": r.json()["request_id"],
                                              "label": "2"}, headers=key)
        readout = client.get("/v2/models/m/ab", headers=key).json()
        assert readout["active"] and readout["challenger"]["version"] == 2
        promoted = client.post("/admin/models/m/promote", headers=key,
                               json={"version": 2, "require_evidence": True})
        if enough:
            assert readout["verdict"]["decision"] == "better"
            assert promoted.status_code == 200, promoted.text
        else:
            assert readout["verdict"]["decision"] == "not known yet"
            assert promoted.status_code == 409 and "not say" in promoted.json()["detail"]
        q = client.get("/v2/models/m/quality", headers=key).json()
        assert {v["version"] for v in q["versions"]} == {1, 2}


def test_the_label_free_estimate_is_the_mean_confidence_then_calibrated_by_labels(
        tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    log = PredictionLog(db, flush_s=0.05)
    rng = np.random.default_rng(3)
    right = []
    for i in range(200):  # says 0.9 but is right 60% of the time: overconfident
        right.append(rng.random() < 0.6)
        log.record(Prediction(endpoint="e", model="m", version=1, role="champion", status=200,
                              latency_ms=1.0, input_digest="d", output="", request_id=f"r{i}",
                              outputs={"predict": np.array([0]),
                                       "probabilities": np.array([[0.9, 0.1]])}))
    log.flush()
    log.close()
    [before] = quality(db, "e")["versions"]
    assert before["estimate"]["value"] == pytest.approx(0.9)
    assert before["estimate"]["gap"] is None and "not calibrated" in before["estimate"]["method"]
    feedback = FeedbackStore(db)
    for i in range(100):
        feedback.give(f"r{i}", "e", correct=bool(right[i]))
    [after] = quality(db, "e")["versions"]
    measured = after["accuracy"]["value"]
    assert after["estimate"]["method"] == "calibrated on 100 labels"
    assert after["estimate"]["value"] == pytest.approx(measured, abs=1e-9)  # one confidence
    assert after["estimate"]["gap"] == pytest.approx(0.0, abs=1e-9)
    db.close()


@pytest.mark.integration
def test_the_readouts_run_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)
    _fill(db, {1: 0.6, 2: 0.9}, 400)
    report = quality(db, "e")
    assert {v["version"] for v in report["versions"]} == {1, 2} and report["timeline"]
    assert all(v["latency_p50_ms"] == pytest.approx(v["version"], rel=0.005)
               for v in report["versions"])
    assert ab_readout(db, "e", 1, 2, "canary", 0.5)["verdict"]["decision"] == "better"
    db.close()
