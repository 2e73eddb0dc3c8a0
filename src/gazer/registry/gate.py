"""Gates: a candidate model goes live only if it beats the champion and passes checks.

``Gate.decide`` compares a declared metric (direction and margin) and runs extra checks
(callables returning pass/fail with a reason). ``publish`` registers the candidate, asks
the gate, points ``champion`` or ``challenger`` at it, and records the decision with the
version (tags) and in the tracking run (``gate.json``).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from gazer.errors import InvalidInput
from gazer.registry.promotion import promote
from gazer.registry.protocol import CHALLENGER, CHAMPION, ModelVersion, Registry
from gazer.tracking.lineage import git_commit
from gazer.tracking.protocol import Tracker

CheckResult = bool | tuple[bool, str]


@dataclasses.dataclass(frozen=True)
class Check:
    """A named behaviour check on the candidate model."""

    name: str
    fn: Callable[[Any], CheckResult]


@dataclasses.dataclass(frozen=True)
class GateDecision:
    """Whether the candidate passed, and every reason why or why not."""

    passed: bool
    reasons: tuple[str, ...]
    metric: str
    candidate: float
    champion: float | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Gate:
    """Promote when ``metric`` beats the champion's by ``margin`` in ``direction``, and
    reaches the absolute ``floor`` when one is set (at least it for ``max``, at most it for
    ``min``), with or without a champion."""

    metric: str
    direction: Literal["max", "min"] = "max"
    margin: float = 0.0
    checks: Sequence[Check] = ()
    floor: float | None = None

    def decide(
        self,
        candidate: Mapping[str, float],
        champion: Mapping[str, float] | None,
        model: Any = None,
    ) -> GateDecision:
        if self.metric not in candidate:
            raise InvalidInput(
                f"gate metric {self.metric!r} missing from the candidate's metrics; "
                f"got {sorted(candidate)}"
            )
        value = float(candidate[self.metric])
        reasons: list[str] = []
        passed = True
        best = None if champion is None else champion.get(self.metric)
        if best is None:
            reasons.append(f"no champion with {self.metric}: candidate {value:.4g} wins by default")
        else:
            best = float(best)
            gain = value - best if self.direction == "max" else best - value
            better = gain > self.margin
            word = "higher" if self.direction == "max" else "lower"
            if better:
                reasons.append(f"{self.metric} {value:.4g} vs champion {best:.4g}: "
                               f"{word} by {abs(gain):.4g} (margin {self.margin:g})")
            else:
                passed = False
                reasons.append(f"{self.metric} {value:.4g} vs champion {best:.4g}: not {word} "
                               f"by more than the margin {self.margin:g}")
        if self.floor is not None:
            reached = value >= self.floor if self.direction == "max" else value <= self.floor
            passed = passed and reached
            word = "at least" if self.direction == "max" else "at most"
            reasons.append(f"floor: {self.metric} {value:.4g} must be {word} {self.floor:g}: "
                           f"{'pass' if reached else 'FAIL'}")
        for check in self.checks:
            ok, why = _run_check(check, model)
            passed = passed and ok
            detail = f" ({why})" if why else ""
            reasons.append(f"check {check.name}: {'pass' if ok else 'FAIL'}{detail}")
        return GateDecision(passed, tuple(reasons), self.metric, value, best)


def _run_check(check: Check, model: Any) -> tuple[bool, str]:
    try:
        result = check.fn(model)
    except Exception as exc:  # a crashing check fails the gate, it does not crash the run
        return False, f"raised {type(exc).__name__}: {exc}"
    if isinstance(result, tuple):
        return bool(result[0]), str(result[1])
    return bool(result), ""


def publish(
    registry: Registry,
    name: str,
    model: Any,
    metrics: Mapping[str, float],
    gate: Gate,
    *,
    tracker: Tracker | None = None,
    tracking_run_id: str | None = None,
    lineage: Mapping[str, str] | None = None,
    input_example: Any = None,
    auto_promote: bool = True,
    champion_metrics: Mapping[str, float] | None = None,
) -> tuple[ModelVersion, GateDecision]:
    """Register ``model``, decide with ``gate``, alias it champion or challenger. Without
    ``auto_promote`` a version that passes becomes challenger too, for a canary to decide.
    ``champion_metrics``: the champion measured on this run's own test data, when the caller
    re-scored it, instead of the figures it was registered with."""
    champion = registry.find_alias(name, CHAMPION)
    against = champion_metrics if champion is not None and champion_metrics is not None \
        else (champion.metrics if champion else None)
    decision = gate.decide(metrics, against, model)
    tags = {"gazer.git_commit": git_commit(), **(lineage or {}),
            "gazer.gate": "passed" if decision.passed else "failed",
            "gazer.gate_metric": decision.metric,
            "gazer.gate_reasons": " | ".join(decision.reasons)[:4900]}
    version = registry.register(name, model, tracking_run_id=tracking_run_id, metrics=metrics,
                                tags=tags, input_example=input_example)
    if decision.passed and auto_promote:
        promote(registry, name, version.version, reason="gate passed")
    else:
        registry.set_alias(name, CHALLENGER, version.version)
    if tracker is not None and tracking_run_id is not None:
        _log_decision(tracker, tracking_run_id, name, version.version, decision)
    return registry.get_version(name, version.version), decision


def _log_decision(
    tracker: Tracker, run_id: str, name: str, version: int, decision: GateDecision
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gate.json"
        path.write_text(json.dumps({"model": name, "version": version, "at": time.time(),
                                    **decision.to_dict()}, indent=2))
        tracker.log_artifact(run_id, path, "gate")
    tracker.set_tags(run_id, {"gazer.gate": "passed" if decision.passed else "failed",
                              "gazer.model_version": f"{name}/{version}"})
