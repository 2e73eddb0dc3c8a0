"""Quality per version and A/B readouts, from the prediction log and its feedback.

A labelled outcome is a logged answer with feedback: ``correct`` when the user said so, else
whether the ``label`` they gave equals the answer; a ``rating`` (1-5) counts separately.
Latency and errors come from every logged answer in the window. The queries fetch only the
columns they need, aggregate in NumPy, and join feedback by request id (indexed), so a
readout over a million predictions stays within a couple of seconds on SQLite.
"""

from __future__ import annotations

import calendar
import dataclasses
import time
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import text

from gazer.db import Database
from gazer.monitoring.stats import (
    Interval,
    SequentialTest,
    mean_interval,
    sample_ratio_mismatch,
    wilson,
)

DAY = 86400.0


@dataclasses.dataclass
class VersionQuality:
    """What one version did in the window."""

    version: int | None
    role: str
    predictions: int
    errors: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    accuracy: Interval
    rating: Interval

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.predictions if self.predictions else None

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "role": self.role, "predictions": self.predictions,
                "errors": self.errors, "error_rate": self.error_rate,
                "latency_p50_ms": self.latency_p50_ms, "latency_p99_ms": self.latency_p99_ms,
                "accuracy": self.accuracy.as_dict(), "rating": self.rating.as_dict()}


@dataclasses.dataclass
class Labelled:
    """The labelled answers of one endpoint: per row version, role, time, outcome, rating."""

    request_ids: list[str]
    confidence: list[float | None]
    versions: list[int | None]
    roles: list[str]
    at: list[float]
    outcome: list[float | None]  # 1 right, 0 wrong, None: no label or correct given
    rating: list[int | None]


def _since(since: float | None, days: float) -> float:
    return since if since is not None else time.time() - days * DAY


def _rows(db: Database, endpoint: str, since: float) -> dict[tuple[int | None, str], np.ndarray]:
    """(version, role) → an array of (at, status, latency, confidence or NaN) of every
    answer since ``since``."""
    sql = text("SELECT version, role, at, status, latency_ms, confidence FROM gazer_predictions "
               "WHERE endpoint = :e AND at >= :s")
    with db.engine.connect() as conn:
        rows = conn.execute(sql, {"e": endpoint, "s": since}).fetchall()
    groups: dict[tuple[int | None, str], list[Any]] = defaultdict(list)
    for version, role, at, status, latency, confidence in rows:
        groups[(version, role)].append((at, status, latency,
                                        np.nan if confidence is None else confidence))
    return {key: np.asarray(items, dtype=float) for key, items in groups.items()}


def _served(db: Database, endpoint: str, since: float) -> dict[tuple[int | None, str], Any]:
    """(version, role) → (latencies, error count) of every logged answer since ``since``."""
    return {key: (a[:, 2], int((a[:, 1] >= 400).sum()))
            for key, a in _rows(db, endpoint, since).items()}


def _timeline(groups: dict[tuple[int | None, str], np.ndarray], since: float,
              buckets: int = 48) -> list[dict[str, Any]]:
    """Per version and role, answers, errors and latency p50/p99 in ``buckets`` slices."""
    width = max(60.0, (time.time() - since) / buckets)
    out = []
    for (version, role), a in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        slot = ((a[:, 0] - since) // width).astype(int)
        for b in np.unique(slot):
            part = a[slot == b]
            p50, p99 = np.percentile(part[:, 2], [50, 99]).tolist()
            out.append({"at": since + float(b) * width, "version": version, "role": role,
                        "predictions": len(part), "errors": int((part[:, 1] >= 400).sum()),
                        "latency_p50_ms": p50, "latency_p99_ms": p99})
    return out


def labelled(db: Database, endpoint: str, since: float) -> Labelled:
    """Every answer of ``endpoint`` since ``since`` that has feedback, oldest first."""
    sql = text(
        "SELECT p.request_id, p.version, p.role, p.at, p.answer, f.label, f.correct, f.rating, "
        "p.confidence "
        "FROM gazer_feedback f JOIN gazer_predictions p ON p.request_id = f.request_id "
        "WHERE p.endpoint = :e AND p.at >= :s AND p.status < 400 ORDER BY p.at, p.id")
    with db.engine.connect() as conn:
        rows = conn.execute(sql, {"e": endpoint, "s": since}).fetchall()
    out = Labelled([], [], [], [], [], [], [])
    for rid, version, role, at, answer, label, correct, rating, confidence in rows:
        out.request_ids.append(rid)
        out.confidence.append(confidence)
        out.versions.append(version)
        out.roles.append(role)
        out.at.append(at)
        if correct is not None:
            out.outcome.append(float(bool(correct)))
        elif label is not None:
            out.outcome.append(float(label == answer))
        else:
            out.outcome.append(None)
        out.rating.append(rating)
    return out


def quality(db: Database, endpoint: str, since: float | None = None,
            days: float = 7.0) -> dict[str, Any]:
    """Per version and role: volume, errors, latency, labelled accuracy and mean rating with
    95% intervals, and accuracy per day."""
    start = _since(since, days)
    groups = _rows(db, endpoint, start)
    labels = labelled(db, endpoint, start)
    versions = []
    for (version, role), a in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        idx = [i for i, (v, r) in enumerate(zip(labels.versions, labels.roles, strict=True))
               if v == version and r == role]
        figures = _version_quality(version, role, a[:, 2], int((a[:, 1] >= 400).sum()),
                                   labels, idx).as_dict()
        figures["estimate"] = estimate_accuracy(a[:, 3], labels, idx, figures["accuracy"])
        versions.append(figures)
    return {"endpoint": endpoint, "since": start, "versions": versions,
            "daily": _daily(labels), "timeline": _timeline(groups, start)}


def _version_quality(version: int | None, role: str, latencies: np.ndarray, errors: int,
                     labels: Labelled, idx: list[int]) -> VersionQuality:
    outcomes = [o for o in (labels.outcome[i] for i in idx) if o is not None]
    ratings = [float(r) for r in (labels.rating[i] for i in idx) if r is not None]
    p50, p99 = (np.percentile(latencies, [50, 99]).tolist() if len(latencies) else
                [None, None])
    return VersionQuality(version, role, len(latencies), errors, p50, p99,
                          wilson(int(sum(outcomes)), len(outcomes)), mean_interval(ratings))


def estimate_accuracy(confidences: np.ndarray, labels: Labelled, idx: list[int],
                      labelled_accuracy: dict[str, Any], min_labels: int = 30
                      ) -> dict[str, Any] | None:
    """Accuracy without labels, from the classifier's confidences (confidence-based
    performance estimation): the mean confidence, calibrated by isotonic regression on the
    labelled answers once there are ``min_labels`` of them. ``None`` for a model that gives
    no probabilities. ``gap`` is the estimate minus the labelled accuracy."""
    known = confidences[~np.isnan(confidences)]
    if not len(known):
        return None
    pairs = [(labels.confidence[i], labels.outcome[i]) for i in idx
             if labels.confidence[i] is not None and labels.outcome[i] is not None]
    if len(pairs) >= min_labels:
        from sklearn.isotonic import IsotonicRegression

        c, o = np.asarray(pairs, dtype=float).T
        calibrated = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(c, o)
        value = float(np.mean(calibrated.predict(known)))
        method = f"calibrated on {len(pairs)} labels"
    else:
        value = float(known.mean())
        method = "mean confidence (not calibrated: too few labels)"
    measured = labelled_accuracy.get("value")
    return {"value": value, "n": int(len(known)), "method": method,
            "gap": value - measured if measured is not None else None}


def _daily(labels: Labelled) -> list[dict[str, Any]]:
    buckets: dict[tuple[str, int | None], list[float]] = defaultdict(list)
    for at, version, role, outcome in zip(labels.at, labels.versions, labels.roles,
                                          labels.outcome, strict=True):
        if outcome is not None and role != "shadow":
            day = time.strftime("%Y-%m-%d", time.gmtime(at))
            buckets[(day, version)].append(outcome)
    return [{"day": day, "at": _day_start(day), "version": version,
             **wilson(int(sum(v)), len(v)).as_dict()}
            for (day, version), v in sorted(buckets.items(), key=lambda kv: (kv[0][0],
                                                                           kv[0][1] or 0))]


def _day_start(day: str) -> float:
    return calendar.timegm(time.strptime(day, "%Y-%m-%d"))


def ab_readout(db: Database, endpoint: str, champion: int | None, challenger: int | None,
               policy: str, canary_weight: float, since: float | None = None,
               days: float = 7.0, test: SequentialTest | None = None) -> dict[str, Any]:
    """Champion against challenger on ``endpoint``: per version latency, errors, labelled
    accuracy (or rating); agreement on the same inputs under shadow; the sequential verdict;
    and, under canary, whether the split is the configured one."""
    start = _since(since, days)
    test = test or SequentialTest()
    if challenger is None or champion is None or policy == "champion":
        return {"endpoint": endpoint, "active": False, "policy": policy,
                "champion": champion, "challenger": challenger,
                "detail": "no challenger is taking traffic (policy champion, or no "
                          "challenger alias)"}
    other_role = "shadow" if policy == "shadow" else "challenger"
    served = _served(db, endpoint, start)
    labels = labelled(db, endpoint, start)
    sides = {"champion": (champion, "champion"), "challenger": (challenger, other_role)}
    figures = {}
    outcomes: dict[str, list[float]] = {}
    by_request: dict[str, dict[str, float]] = defaultdict(dict)
    for side, (version, role) in sides.items():
        latencies, errors = served.get((version, role), (np.array([]), 0))
        idx = [i for i, (v, r) in enumerate(zip(labels.versions, labels.roles, strict=True))
               if v == version and r == role]
        figures[side] = _version_quality(version, role, latencies, errors, labels,
                                         idx).as_dict()
        outcomes[side] = _outcomes(labels, idx)
        for i in idx:
            value = _value(labels, i)
            if value is not None:
                by_request[labels.request_ids[i]][side] = value
    if policy == "shadow":  # the same requests answered by both: pair them by request
        pairs = [v for v in by_request.values() if len(v) == 2]
        champion_seq = [p["champion"] for p in pairs]
        challenger_seq = [p["challenger"] for p in pairs]
    else:
        champion_seq, challenger_seq = outcomes["champion"], outcomes["challenger"]
    verdict = test.verdict(champion_seq, challenger_seq)
    out: dict[str, Any] = {
        "endpoint": endpoint, "active": True, "policy": policy, "since": start,
        "champion": figures["champion"], "challenger": figures["challenger"],
        "outcome": "accuracy" if any(o is not None for o in labels.outcome) else "rating",
        "verdict": verdict.as_dict(),
    }
    if policy == "shadow":
        out["agreement"] = _agreement(db, endpoint, champion, challenger, start)
    else:
        n_champion = figures["champion"]["predictions"]
        n_challenger = figures["challenger"]["predictions"]
        out["sample_ratio"] = sample_ratio_mismatch(n_champion, n_challenger,
                                                    canary_weight).as_dict()
        if out["sample_ratio"]["mismatch"]:
            out["verdict"]["decision"] = "not known yet"
            out["verdict"]["detail"] = ("the canary split does not match its weight: the "
                                        "assignment is broken, no verdict can be trusted")
    return out


def _value(labels: Labelled, i: int) -> float | None:
    if labels.outcome[i] is not None:
        return labels.outcome[i]
    rating = labels.rating[i]
    return (rating - 1) / 4 if rating is not None else None


def _outcomes(labels: Labelled, idx: list[int]) -> list[float]:
    values = [_value(labels, i) for i in idx]
    return [v for v in values if v is not None]


def _agreement(db: Database, endpoint: str, champion: int, challenger: int,
               since: float) -> dict[str, Any]:
    sql = text(
        "SELECT a.answer = b.answer FROM gazer_predictions a JOIN gazer_predictions b "
        "ON a.request_id = b.request_id WHERE a.endpoint = :e AND b.endpoint = :e "
        "AND a.role = 'champion' AND b.role = 'shadow' AND a.version = :c AND b.version = :d "
        "AND a.at >= :s AND a.status < 400 AND b.status < 400")
    with db.engine.connect() as conn:
        same = [bool(r[0]) for r in conn.execute(sql, {"e": endpoint, "c": champion,
                                                       "d": challenger, "s": since})]
    return wilson(sum(same), len(same)).as_dict()
