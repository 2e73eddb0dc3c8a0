"""Retraining policies: each trigger, the limits, and the whole action on the example app
(retrain with a real pipeline, gate, canary through registry tags, promote or roll back on
the A/B readout)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gazer.catalog import get_app
from gazer.monitoring.drift import record_report
from gazer.monitoring.feedback import FeedbackStore
from gazer.monitoring.predictions import Prediction, PredictionLog
from gazer.registry.memory import MemoryRegistry
from gazer.registry.protocol import CHALLENGER, CHAMPION
from gazer.services import Services
from gazer.triggers.policies import (
    TRAFFIC_POLICY_TAG,
    TRAFFIC_WEIGHT_TAG,
    Decision,
    Policy,
    PolicyEngine,
    decisions,
    load_policies,
    parse_duration,
    record,
)
from tests.serving.factory import settings_for


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = Services(settings_for(tmp_path), registry=MemoryRegistry())
    yield s
    s.close()


def _engine(services: Services, *policies: Policy) -> PolicyEngine:
    return PolicyEngine(services.db, services.registry, {p.name: p for p in policies},
                        lambda app, params: services.run_pipeline(app, params,
                                                                  auto_promote=False),
                        lambda app: get_app(app).model_name)


def _policy(**triggers: Any) -> Policy:
    return Policy(name="p", app="example", endpoint="example",
                  triggers=[{"kind": k, **v} for k, v in triggers.items()],
                  action={"params": {"select.margin": -1.0}, "canary_weight": 0.5},
                  limits={"min_interval": "1h"})


def test_durations_and_yaml_policies(tmp_path: Path) -> None:
    assert parse_duration("90s") == 90 and parse_duration("7d") == 7 * 86400
    with pytest.raises(Exception, match="duration"):
        parse_duration("soon")
    path = tmp_path / "policies.yaml"
    path.write_text("policies:\n  p:\n    app: example\n    endpoint: example\n"
                    "    triggers: [{kind: labels, count: 5}]\n")
    [policy] = load_policies([tmp_path / "missing.yaml", path]).values()
    assert policy.triggers[0].count == 5 and policy.limits.min_interval == "1d"
    path.write_text("policies:\n  p: {app: example, endpoint: example, triggers: "
                    "[{kind: weather}]}\n")
    with pytest.raises(Exception, match="policy 'p'"):
        load_policies([path])


def test_labels_and_drift_triggers_then_the_limit_and_a_dry_run(services: Services) -> None:
    engine = _engine(services, _policy(labels={"count": 3}, drift={"windows": 2}))
    policy = engine.policies["p"]
    assert engine.decide(policy, time.time()).kind == "idle"
    store = FeedbackStore(services.db)
    for i in range(3):
        store.give(f"r{i}", "example", label="1")
    dry = engine.decide(policy, time.time(), dry_run=True)
    assert (dry.kind, dry.fired) == ("would-retrain", True) and "3 new labelled" in dry.reason
    for drifted in (True, True):
        record_report(services.db, {"at": time.time(), "endpoint": "example",
                                    "model": "example", "version": 1, "drifted": drifted,
                                    "n_window": 500, "drivers": ["x0"]})
    fired = engine.decide(policy, time.time(), dry_run=True)
    assert {f["kind"] for f in fired.evidence["fired"]} == {"labels", "drift"}
    record(services.db, Decision("p", "retrained", True, "earlier", version=1))
    limited = engine.decide(policy, time.time(), dry_run=True)
    assert limited.kind == "limit" and "at most one per 1h" in limited.reason
    # the labels counted are those since the last retrain
    assert engine.decide(policy, time.time() + 7200, dry_run=True).evidence["fired"][0][
        "kind"] == "drift"


def test_an_accuracy_trigger_waits_for_a_confident_shortfall(services: Services) -> None:
    from gazer.registry.promotion import promote

    services.registry.register("example", object())
    promote(services.registry, "example", 1)
    engine = _engine(services, _policy(accuracy={"below": 0.9, "min_labels": 40}))
    log = PredictionLog(services.db, flush_s=0.05)
    for i in range(60):
        log.record(Prediction(endpoint="example", model="example", version=1,
                              role="champion", status=200, latency_ms=1.0, input_digest="",
                              output="", request_id=f"a{i}",
                              outputs={"predict": np.array(["1"], dtype=object)}))
    log.flush()
    log.close()
    store = FeedbackStore(services.db)
    for i in range(20):  # 20 labels (half right): too few to say
        store.give(f"a{i}", "example", correct=i % 2 == 0)
    assert engine.decide(engine.policies["p"], time.time(), dry_run=True).kind == "idle"
    for i in range(20, 60):
        store.give(f"a{i}", "example", correct=i % 2 == 0)
    fired = engine.decide(engine.policies["p"], time.time(), dry_run=True)
    assert fired.kind == "would-retrain" and "below 0.9" in fired.reason


def test_a_new_commit_on_the_watched_branch_fires_once(services: Services,
                                                       tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t",
                        *args], check=True, capture_output=True)

    git("init", "-b", "main")
    (repo / "app.py").write_text("v = 1\n")
    git("add", ".")
    git("commit", "-m", "one")
    engine = _engine(services, _policy(git={"branch": "main", "repo": str(repo)}))
    policy = engine.policies["p"]
    first = engine.decide(policy, time.time(), dry_run=True)
    assert first.kind == "would-retrain" and "new commit" in first.reason
    record(services.db, Decision("p", "retrained", True, "x",
                                 {"commit": first.evidence["fired"][0]["commit"]}))
    assert engine.decide(policy, time.time() + 7200, dry_run=True).kind == "idle"
    (repo / "app.py").write_text("v = 2\n")
    git("commit", "-am", "two")
    assert engine.decide(policy, time.time() + 7200, dry_run=True).kind == "would-retrain"


def _canary_traffic(services: Services, champion: int, challenger: int,
                    challenger_right: float, n: int = 400) -> None:
    log = PredictionLog(services.db, flush_s=0.05)
    rng = np.random.default_rng(0)
    rights = {}
    for i in range(n):
        version, role = (challenger, "challenger") if i % 2 else (champion, "champion")
        right = rng.random() < (challenger_right if i % 2 else 0.7)
        log.record(Prediction(endpoint="example", model="example", version=version, role=role,
                              status=200, latency_ms=1.0, input_digest="", output="",
                              request_id=f"c{challenger}-{i}",
                              outputs={"predict": np.array(["1"], dtype=object)}))
        rights[f"c{challenger}-{i}"] = right
    log.flush()
    log.close()
    store = FeedbackStore(services.db)
    for rid, right in rights.items():
        store.give(rid, "example", correct=bool(right))


@pytest.mark.parametrize("better", [True, False])
def test_a_retrain_goes_live_as_a_canary_then_is_promoted_or_rolled_back(
        services: Services, better: bool) -> None:
    services.run_pipeline("example", {})  # the champion, v1
    engine = _engine(services, _policy(schedule={"every": "7d"}))
    [retrained] = engine.tick()
    assert retrained.kind == "retrained", retrained.reason
    registry = services.registry
    assert registry.find_alias("example", CHAMPION).version == 1  # type: ignore[union-attr]
    assert registry.find_alias("example", CHALLENGER).version == 2  # type: ignore[union-attr]
    assert registry.model_tags("example")[TRAFFIC_POLICY_TAG] == "canary"
    assert registry.model_tags("example")[TRAFFIC_WEIGHT_TAG] == "0.5"
    [waiting] = engine.tick()
    assert waiting.kind == "waiting" and not waiting.fired

    _canary_traffic(services, 1, 2, 0.95 if better else 0.3)
    [judged] = engine.tick()
    assert judged.kind == ("promoted" if better else "rolled-back"), judged.reason
    assert registry.find_alias("example", CHAMPION).version == (  # type: ignore[union-attr]
        2 if better else 1)
    assert registry.find_alias("example", CHALLENGER) is None
    assert registry.model_tags("example")[TRAFFIC_POLICY_TAG] == "champion"
    kinds = [d["kind"] for d in decisions(services.db, "p")]
    assert kinds == [judged.kind, "waiting", "retrained"]
    [after] = engine.tick()  # the schedule waits its period again
    assert after.kind == "idle"


def test_a_retrain_whose_gate_fails_is_not_deployed(services: Services) -> None:
    services.run_pipeline("example", {})
    policy = _policy(schedule={"every": "7d"})
    policy.action.params = {"select.margin": 1.0}  # nothing beats the champion by 1.0
    [failed] = _engine(services, policy).tick()
    assert failed.kind == "gate-failed" and failed.version == 2
    assert TRAFFIC_POLICY_TAG not in services.registry.model_tags("example")


def test_a_server_takes_the_traffic_a_policy_set_on_the_registry(tmp_path: Path) -> None:
    from tests.serving.factory import body, client_for, registry_with

    registry = registry_with(2, champion=1)
    registry.set_alias("m", CHALLENGER, 2)
    with client_for(tmp_path, registry) as client:
        def status() -> dict[str, Any]:
            [found] = client.get("/api/endpoints").json()
            return found

        assert status()["policy"] == "champion"
        registry.set_model_tags("m", {TRAFFIC_POLICY_TAG: "canary", TRAFFIC_WEIGHT_TAG: "1.0"})
        client.app.state.gazer.watcher.sync_once()  # type: ignore[attr-defined]
        now = status()
        assert (now["policy"], now["canary_weight"]) == ("canary", 1.0)
        assert now["challenger"]["version"] == 2
        answer = client.post("/v2/models/m/infer", json=body())
        assert answer.json()["model_version"] == "2"  # weight 1: every request to it
        registry.set_model_tags("m", {TRAFFIC_POLICY_TAG: "champion", TRAFFIC_WEIGHT_TAG: "0"})
        client.app.state.gazer.watcher.sync_once()  # type: ignore[attr-defined]
        assert status()["policy"] == "champion"
        assert client.post("/v2/models/m/infer", json=body()).json()["model_version"] == "1"


def test_policies_from_the_shell(tmp_path: Path) -> None:
    from tests.test_cli import _gazer

    home = tmp_path / "home"
    home.mkdir()
    (home / "policies.yaml").write_text(
        "policies:\n  mine:\n    app: example\n    endpoint: example\n"
        "    triggers: [{kind: schedule, every: 7d}]\n    limits: {dry_run: true}\n")
    listed = _gazer(home, "policies", "list")
    assert listed.returncode == 0, listed.stderr
    assert "characters-feedback" in listed.stdout and "mine" in listed.stdout
    tick = _gazer(home, "policies", "tick")
    assert tick.returncode == 0, tick.stderr
    assert "mine: would-retrain: dry run: every 7d: never retrained" in tick.stdout
    assert "characters-feedback: idle" in tick.stdout
    shown = _gazer(home, "monitor", "decisions", "mine")
    assert shown.returncode == 0 and "would-retrain" in shown.stdout
