"""Retraining policies: when to retrain an app's model, and what to do with the result.

A policy names an app, the endpoint it watches, its triggers (any one fires it), the action
and its limits. Declared in YAML (an app's own ``policies.yaml``, then ``.gazer/policies.yaml``
or the file ``GAZER_POLICIES`` names; an entry with the same name replaces an app's) or in
Python (``Policy(...)``)::

    policies:
      characters-feedback:
        app: characters
        endpoint: characters
        triggers:
          - {kind: drift, windows: 3}               # the last 3 drift checks all drifted
          - {kind: accuracy, below: 0.9, min_labels: 50}  # even the interval's top is under
          - {kind: labels, count: 100}              # 100 new labelled answers
          - {kind: schedule, every: 7d}
          - {kind: git, branch: main}               # a new commit of the app's code
        action:
          feedback_param: importer.feedback         # the labelled feedback, merged in
          feedback_window: 30d
          canary_weight: 0.2
          max_error_rate: 0.05
        limits: {min_interval: 1d, dry_run: false}

Each ``tick`` decides one thing per policy and records it (fired or not, and why, with the
evidence) in ``gazer_policy_decisions``:

1. While a version this policy trained is live as a canary, read the A/B readout: *better*
   promotes it; *worse*, or a challenger error rate over ``max_error_rate``, rolls it back
   (the challenger alias removed, the canary weight set to 0); otherwise it waits.
2. Else evaluate the triggers. Within ``min_interval`` of the last retrain nothing runs
   (``limit``). In ``dry_run`` a fired policy records ``would retrain`` and stops.
3. Else run the app's pipeline with the labelled feedback as a new dataset version
   (``--param importer.feedback=ENDPOINT@30d``), registering the result as challenger instead of
   champion. A version whose gate failed is not deployed; one that passed is deployed as a
   canary at ``canary_weight``: the model's ``gazer.traffic.*`` registry tags, which every
   ``gazer serve`` polling the registry applies to the endpoint.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess  # nosec B404 # git rev-parse of a watched branch: fixed argv, no shell
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select

from gazer.db import Database, FeedbackRow, PolicyDecisionRow
from gazer.errors import GazerError, InvalidInput
from gazer.monitoring.readout import ab_readout, quality
from gazer.registry.promotion import promote
from gazer.registry.protocol import (
    CHALLENGER,
    CHAMPION,
    TRAFFIC_POLICY_TAG,
    TRAFFIC_WEIGHT_TAG,
    Registry,
)

POLICY_TAG = "gazer.policy"


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``12h``, ``7d`` → seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not match:
        raise InvalidInput(f"a duration must be like 90s, 30m, 12h or 7d; got {text!r}")
    return float(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


class Trigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["drift", "accuracy", "labels", "schedule", "git"]
    windows: int = Field(default=3, ge=1, description="drift: this many checks in a row")
    features: list[str] = Field(default=[], description="drift: only when one of these "
                                "features drove every one of those checks (e.g. oov)")
    below: float = Field(default=0.9, gt=0, le=1, description="accuracy: the threshold")
    min_labels: int = Field(default=30, ge=1, description="accuracy: labels it needs")
    count: int = Field(default=100, ge=1, description="labels: new labelled answers")
    every: str = Field(default="7d", description="schedule: the period")
    branch: str = Field(default="main", description="git: the watched branch")
    repo: str = Field(default=".", description="git: the repository's folder")


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = {}
    feedback_param: str | None = Field(
        default=None, description="the pipeline parameter that takes a feedback spec")
    feedback_window: str = "30d"
    canary_weight: float = Field(default=0.2, gt=0, le=1)
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    days: float = Field(default=7.0, gt=0, description="the A/B readout's window")


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_interval: str = "1d"
    dry_run: bool = False


class Policy(BaseModel):
    """One app's retraining policy."""

    model_config = ConfigDict(extra="forbid")

    name: str
    app: str
    endpoint: str
    model: str | None = None  # default: the app's model
    triggers: list[Trigger] = Field(min_length=1)
    action: Action = Action()
    limits: Limits = Limits()


def load_policies(files: list[Path]) -> dict[str, Policy]:
    """Policies from YAML files, later files replacing earlier entries of the same name."""
    out: dict[str, Policy] = {}
    for path in files:
        if not path.is_file():
            continue
        body = yaml.safe_load(path.read_text()) or {}
        for name, spec in (body.get("policies") or {}).items():
            try:
                out[name] = Policy(name=name, **spec)
            except (ValidationError, TypeError) as exc:
                raise InvalidInput(f"policy {name!r} in {path}: {exc}") from exc
    return out


@dataclasses.dataclass
class Decision:
    """What a tick decided for one policy, and why."""

    policy: str
    kind: str  # idle, limit, would-retrain, retrained, gate-failed, run-failed, waiting,
    #            promoted, rolled-back
    fired: bool
    reason: str
    evidence: dict[str, Any] = dataclasses.field(default_factory=dict)
    version: int | None = None
    run_id: str | None = None
    at: float = dataclasses.field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def record(db: Database, decision: Decision) -> Decision:
    with db.session() as s:
        s.add(PolicyDecisionRow(at=decision.at, policy=decision.policy, kind=decision.kind,
                                fired=decision.fired, reason=decision.reason[:4000],
                                version=decision.version, run_id=decision.run_id,
                                evidence=json.dumps(decision.evidence, default=str)))
    return decision


def decisions(db: Database, policy: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest recorded decisions first."""
    q = select(PolicyDecisionRow).order_by(PolicyDecisionRow.id.desc()).limit(limit)
    if policy:
        q = q.where(PolicyDecisionRow.policy == policy)
    with db.session() as s:
        return [{"at": r.at, "policy": r.policy, "kind": r.kind, "fired": r.fired,
                 "reason": r.reason, "version": r.version, "run_id": r.run_id,
                 "evidence": json.loads(r.evidence)} for r in s.scalars(q)]


def _last(db: Database, policy: str, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    q = select(PolicyDecisionRow).where(PolicyDecisionRow.policy == policy,
                                        PolicyDecisionRow.kind.in_(kinds)) \
        .order_by(PolicyDecisionRow.id.desc()).limit(1)
    with db.session() as s:
        row = s.scalars(q).first()
        return None if row is None else {"at": row.at, "kind": row.kind,
                                         "version": row.version,
                                         "evidence": json.loads(row.evidence)}


RETRAINS = ("retrained", "gate-failed", "run-failed")


class PolicyEngine:
    """Evaluates policies and acts on them with the platform's own services.

    ``run(app, params)`` runs a pipeline registering its result as challenger (the services
    give it); the engine never imports an app.
    """

    def __init__(self, db: Database, registry: Registry, policies: dict[str, Policy],
                 run: Callable[[str, dict[str, Any]], Any],
                 model_of: Callable[[str], str | None]) -> None:
        self.db, self.registry, self.policies = db, registry, policies
        self.run, self.model_of = run, model_of

    def model(self, policy: Policy) -> str:
        name = policy.model or self.model_of(policy.app)
        if not name:
            raise InvalidInput(f"policy {policy.name!r}: app {policy.app!r} registers no "
                               f"model; give model: in the policy")
        return name

    def tick(self, now: float | None = None, dry_run: bool | None = None) -> list[Decision]:
        now = time.time() if now is None else now
        return [record(self.db, self.decide(p, now, dry_run)) for p in self.policies.values()]

    def decide(self, policy: Policy, now: float, dry_run: bool | None = None) -> Decision:
        model = self.model(policy)
        live = self._live_canary(policy, model)
        if live is not None:
            return self._judge(policy, model, live)
        fired = [r for r in (self._check(policy, t, now) for t in policy.triggers) if r]
        if not fired:
            return Decision(policy.name, "idle", False, "no trigger fired",
                            {"triggers": [t.kind for t in policy.triggers]})
        evidence: dict[str, Any] = {"fired": fired}
        last = _last(self.db, policy.name, RETRAINS)
        interval = parse_duration(policy.limits.min_interval)
        if last is not None and now - last["at"] < interval:
            return Decision(policy.name, "limit", True,
                            f"{'; '.join(f['reason'] for f in fired)}; but the last retrain "
                            f"was {(now - last['at']) / 3600:.1f} h ago (at most one per "
                            f"{policy.limits.min_interval})", evidence)
        if policy.limits.dry_run if dry_run is None else dry_run:
            return Decision(policy.name, "would-retrain", True,
                            "dry run: " + "; ".join(f["reason"] for f in fired), evidence)
        return self._retrain(policy, model, evidence)

    # -- triggers ---------------------------------------------------------------------------

    def _check(self, policy: Policy, trigger: Trigger, now: float) -> dict[str, Any] | None:
        check = {"drift": self._drift, "accuracy": self._accuracy, "labels": self._labels,
                 "schedule": self._schedule, "git": self._git}[trigger.kind]
        return check(policy, trigger, now)

    def _drift(self, policy: Policy, trigger: Trigger, now: float) -> dict[str, Any] | None:
        from gazer.monitoring.drift import history

        recent = history(self.db, policy.endpoint, trigger.windows)
        if len(recent) < trigger.windows or not all(r["drifted"] for r in recent):
            return None
        if trigger.features and not all(set(trigger.features) & set(r["drivers"])
                                        for r in recent):
            return None
        drivers = sorted({d for r in recent for d in r["drivers"]})
        return {"kind": "drift", "reason": f"the last {trigger.windows} drift checks of "
                f"{policy.endpoint} drifted ({', '.join(drivers)})", "checks": recent}

    def _accuracy(self, policy: Policy, trigger: Trigger, now: float) -> dict[str, Any] | None:
        report = quality(self.db, policy.endpoint, days=30)
        champion = self.registry.find_alias(self.model(policy), CHAMPION)
        rows = [v for v in report["versions"] if champion is not None
                and v["version"] == champion.version and v["role"] == "champion"]
        if not rows:
            return None
        acc = rows[0]["accuracy"]
        if acc["n"] < trigger.min_labels or acc["high"] is None or acc["high"] >= trigger.below:
            return None
        return {"kind": "accuracy", "reason": f"labelled accuracy {acc['value']:.3f} (95% up "
                f"to {acc['high']:.3f}, {acc['n']} labels) is below {trigger.below}",
                "accuracy": acc}

    def _labels(self, policy: Policy, trigger: Trigger, now: float) -> dict[str, Any] | None:
        last = _last(self.db, policy.name, RETRAINS)
        since = last["at"] if last else 0.0
        with self.db.session() as s:
            n = s.scalar(select(func.count()).select_from(FeedbackRow).where(
                FeedbackRow.endpoint == policy.endpoint, FeedbackRow.at > since,
                (FeedbackRow.label.is_not(None)) | (FeedbackRow.correct.is_not(None)))) or 0
        if n < trigger.count:
            return None
        return {"kind": "labels", "reason": f"{n} new labelled answers on {policy.endpoint} "
                f"(at least {trigger.count})", "labels": n}

    def _schedule(self, policy: Policy, trigger: Trigger, now: float) -> dict[str, Any] | None:
        last = _last(self.db, policy.name, RETRAINS)
        period = parse_duration(trigger.every)
        if last is not None and now - last["at"] < period:
            return None
        return {"kind": "schedule", "reason": f"every {trigger.every}: "
                + ("never retrained" if last is None else
                   f"last retrained {(now - last['at']) / 86400:.1f} d ago")}

    def _git(self, policy: Policy, trigger: Trigger, now: float) -> dict[str, Any] | None:
        commit = _branch_commit(Path(trigger.repo), trigger.branch)
        last = _last(self.db, policy.name, RETRAINS)
        seen = (last or {}).get("evidence", {}).get("commit")
        if commit is None or commit == seen:
            return None
        return {"kind": "git", "reason": f"new commit {commit[:10]} on {trigger.branch}",
                "commit": commit}

    # -- actions ----------------------------------------------------------------------------

    def _retrain(self, policy: Policy, model: str, evidence: dict[str, Any]) -> Decision:
        params = dict(policy.action.params)
        if policy.action.feedback_param:
            params[policy.action.feedback_param] = (f"{policy.endpoint}@"
                                                    f"{policy.action.feedback_window}")
        commit = next((f["commit"] for f in evidence["fired"] if f["kind"] == "git"), None)
        evidence = {**evidence, "params": params, **({"commit": commit} if commit else {})}
        reasons = "; ".join(f["reason"] for f in evidence["fired"])
        before = {v.version for v in self.registry.list_versions(model)}
        try:
            run = self.run(policy.app, params)
        except GazerError as exc:
            return Decision(policy.name, "run-failed", True, f"{reasons}; the run failed: "
                            f"{exc}", evidence, run_id=getattr(getattr(exc, "record", None),
                                                              "run_id", None))
        run_id = getattr(run, "run_id", None)
        made = [v for v in self.registry.list_versions(model) if v.version not in before]
        if not made:
            return Decision(policy.name, "run-failed", True, f"{reasons}; the run registered "
                            f"no version of {model}", evidence, run_id=run_id)
        version = max(made, key=lambda v: v.version)
        if version.tags.get("gazer.gate") != "passed":
            return Decision(policy.name, "gate-failed", True,
                            f"{reasons}; v{version.version} failed its gate: "
                            f"{version.tags.get('gazer.gate_reasons', '')}", evidence,
                            version=version.version, run_id=run_id)
        self.registry.set_alias(model, CHALLENGER, version.version)
        self.registry.set_version_tags(model, version.version, {POLICY_TAG: policy.name})
        self.registry.set_model_tags(model, {
            TRAFFIC_POLICY_TAG: "canary", TRAFFIC_WEIGHT_TAG: str(policy.action.canary_weight)})
        return Decision(policy.name, "retrained", True,
                        f"{reasons}; v{version.version} passed its gate and is live as a "
                        f"canary at weight {policy.action.canary_weight}", evidence,
                        version=version.version, run_id=run_id)

    def _live_canary(self, policy: Policy, model: str) -> int | None:
        challenger = self.registry.find_alias(model, CHALLENGER)
        if challenger is None or challenger.tags.get(POLICY_TAG) != policy.name:
            return None
        tags = self.registry.model_tags(model)
        return challenger.version if tags.get(TRAFFIC_POLICY_TAG) == "canary" else None

    def _judge(self, policy: Policy, model: str, version: int) -> Decision:
        champion = self.registry.find_alias(model, CHAMPION)
        # the canary's own life: traffic before it went live has no split to check
        started = _last(self.db, policy.name, ("retrained",))
        since = started["at"] if started else None
        readout = ab_readout(self.db, policy.endpoint, champion.version if champion else None,
                             version, "canary", policy.action.canary_weight,
                             since=since, days=policy.action.days)
        verdict = readout.get("verdict", {})
        evidence = {"readout": {k: readout.get(k) for k in ("champion", "challenger",
                                                            "verdict", "sample_ratio")}}
        errors = (readout.get("challenger") or {}).get("error_rate")
        if errors is not None and errors > policy.action.max_error_rate:
            self._end_canary(model)
            return Decision(policy.name, "rolled-back", True,
                            f"v{version}'s error rate {errors:.1%} is over "
                            f"{policy.action.max_error_rate:.0%}", evidence, version=version)
        decision = verdict.get("decision")
        if decision in ("better", "worse"):
            verdict = {**verdict, "detail": verdict.get("detail") or (
                f"challenger minus champion {verdict['difference']:+.3f} (always-valid 95% "
                f"interval {verdict['low']:+.3f} to {verdict['high']:+.3f}) over "
                f"{verdict['pairs']} labelled pairs")}
        if decision == "better":
            promote(self.registry, model, version, reason=f"policy {policy.name}: the A/B "
                    f"readout says better")
            self._end_canary(model)
            return Decision(policy.name, "promoted", True, f"v{version} is better than the "
                            f"champion: {verdict.get('detail', '')}", evidence, version=version)
        if decision == "worse":
            self._end_canary(model)
            return Decision(policy.name, "rolled-back", True, f"v{version} is worse than the "
                            f"champion: {verdict.get('detail', '')}", evidence, version=version)
        return Decision(policy.name, "waiting", False, f"v{version} is live as a canary; "
                        f"{verdict.get('detail', 'no verdict yet')}", evidence, version=version)

    def _end_canary(self, model: str) -> None:
        self.registry.delete_alias(model, CHALLENGER)
        self.registry.set_model_tags(model, {TRAFFIC_POLICY_TAG: "champion",
                                             TRAFFIC_WEIGHT_TAG: "0"})


def _branch_commit(repo: Path, branch: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",  # nosec B603 B607 # fixed argv, no shell
                               f"refs/heads/{branch}"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def policy_files(settings: Any) -> list[Path]:
    """Where policies come from, later files winning: each app's own ``policies.yaml``,
    then ``GAZER_HOME/policies.yaml``, then the file ``GAZER_POLICIES`` names."""
    import os
    import sys

    from gazer.catalog import list_apps

    files = []
    for app in list_apps():
        module = sys.modules.get(app.build.__module__)
        if module is not None and getattr(module, "__file__", None):
            files.append(Path(str(module.__file__)).with_name("policies.yaml"))
    files.append(Path(settings.home) / "policies.yaml")
    if os.environ.get("GAZER_POLICIES"):
        files.append(Path(os.environ["GAZER_POLICIES"]).expanduser())
    return files


def engine_for(services: Any, policies: dict[str, Policy] | None = None) -> PolicyEngine:
    """The engine on ``services``: runs register their versions as challengers."""
    from gazer.catalog import get_app

    return PolicyEngine(
        services.db, services.registry,
        policies if policies is not None else load_policies(policy_files(services.settings)),
        lambda app, params: services.run_pipeline(app, params, auto_promote=False),
        lambda app: get_app(app).model_name)


class PolicyClock:
    """Ticks an engine at most every ``interval_s`` (inside ``gazer watch``'s loop)."""

    def __init__(self, engine: PolicyEngine, interval_s: float,
                 echo: Callable[[str], None]) -> None:
        self.engine, self.interval_s, self.echo = engine, interval_s, echo
        self._last = 0.0

    def __call__(self) -> list[Decision]:
        now = time.time()
        if not self.engine.policies or now - self._last < self.interval_s:
            return []
        self._last = now
        made = self.engine.tick(now)
        for d in made:
            if d.fired:
                self.echo(f"policy {d.policy}: {d.kind}: {d.reason}")
        return made
