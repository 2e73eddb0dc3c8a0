"""Quality per version and A/B readouts, from the prediction log and its feedback.

A labelled outcome is a logged answer with feedback: ``correct`` when the user said so, else
whether the ``label`` they gave equals the answer; a ``rating`` (1-5) counts separately.
Volume, latency and errors come from every logged answer in the window, read from the log's
rollups (``gazer.db.rollups``: per-minute counts, per-hour histograms) and from raw rows only
for the part of the window before its first whole hour; labelled answers are driven from the
feedback and joined by request id (indexed). So a readout costs about the same over a
thousand predictions as over a million.
"""

from __future__ import annotations

import calendar
import dataclasses
import math
import time
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import text

from gazer.db import Database, rollups
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


@dataclasses.dataclass
class Served:
    """One (version, role)'s answers in the window, aggregated by the database."""

    predictions: int = 0
    errors: int = 0
    latency: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))  # values, counts
    confidence: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))

    def latency_percentiles(self) -> tuple[float | None, float | None]:
        return _weighted_percentile(*self.latency, 50), _weighted_percentile(*self.latency, 99)


def _weighted_percentile(values: np.ndarray, counts: np.ndarray, q: float) -> float | None:
    if not counts.sum():
        return None
    order = np.argsort(values)
    cumulative = np.cumsum(counts[order])
    rank = q / 100 * (cumulative[-1] - 1)
    return float(values[order][np.searchsorted(cumulative - 1, rank, side="left")])


def _served(db: Database, endpoint: str, since: float) -> dict[tuple[int | None, str], Served]:
    """Per (version, role): answers, errors, and latency and confidence histograms, from the
    rollups for every whole hour of the window and from the rows for the part before it."""
    edge = math.ceil(since / 3600) * 3600
    counts: dict[tuple[int | None, str], list[int]] = defaultdict(lambda: [0, 0])
    hist: dict[tuple[int | None, str, str], dict[float, int]] = defaultdict(
        lambda: defaultdict(int))
    with db.engine.connect() as conn:
        for version, role, n, errors in conn.execute(text(
                "SELECT version, role, sum(predictions), sum(errors) "
                "FROM gazer_prediction_minutes WHERE endpoint = :e AND minute >= :m "
                "GROUP BY version, role"), {"e": endpoint, "m": edge // 60}):
            key = (rollups.read_version(version), role)
            counts[key][0] += int(n)
            counts[key][1] += int(errors or 0)
        for version, role, metric, bucket, n in conn.execute(text(
                "SELECT version, role, metric, bucket, sum(count) "
                "FROM gazer_prediction_histograms WHERE endpoint = :e AND hour >= :h "
                "GROUP BY version, role, metric, bucket"), {"e": endpoint, "h": edge // 3600}):
            value = (rollups.latency_value(bucket) if metric == "latency"
                     else rollups.confidence_value(bucket))
            hist[(rollups.read_version(version), role, metric)][value] += int(n)
        for version, role, status, latency, confidence in conn.execute(text(
                "SELECT version, role, status, latency_ms, confidence FROM gazer_predictions "
                "WHERE endpoint = :e AND at >= :s AND at < :edge"),
                {"e": endpoint, "s": since, "edge": edge}):
            counts[(version, role)][0] += 1
            counts[(version, role)][1] += status >= 400
            hist[(version, role, "latency")][
                rollups.latency_value(rollups.latency_bucket(latency))] += 1
            if confidence is not None:
                hist[(version, role, "confidence")][
                    rollups.confidence_value(rollups.confidence_bucket(confidence))] += 1
    out = {key: Served(n, errors) for key, (n, errors) in counts.items()}
    for (version, role, metric), values in hist.items():
        pairs = np.asarray(sorted(values.items()), dtype=float)
        setattr(out.setdefault((version, role), Served()), metric,
                (pairs[:, 0], pairs[:, 1]))
    return out


def _timeline(db: Database, endpoint: str, since: float,
              buckets: int = 48) -> list[dict[str, Any]]:
    """Per version and role: answers, errors and mean and max latency in ``buckets`` slices
    of whole minutes (the minute ``since`` falls in counts whole)."""
    width = max(60.0, (time.time() - since) / buckets)
    sql = text("SELECT version, role, minute, predictions, errors, latency_sum, latency_max "
               "FROM gazer_prediction_minutes WHERE endpoint = :e AND minute >= :m")
    slices: dict[tuple[int | None, str, int], list[float]] = {}
    with db.engine.connect() as conn:
        for version, role, minute, n, errors, total, top in conn.execute(
                sql, {"e": endpoint, "m": int(since // 60)}):
            key = (rollups.read_version(version), role, max(0, int((minute * 60 - since)
                                                                  // width)))
            figures = slices.setdefault(key, [0, 0, 0.0, top])
            figures[0] += n
            figures[1] += errors
            figures[2] += total
            figures[3] = max(figures[3], top)
    return [{"at": since + b * width, "version": version, "role": role, "predictions": n,
             "errors": int(errors), "latency_mean_ms": total / n if n else None,
             "latency_max_ms": top}
            for (version, role, b), (n, errors, total, top)
            in sorted(slices.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1], kv[0][2]))]


def labelled(db: Database, endpoint: str, since: float) -> Labelled:
    """Every answer of ``endpoint`` since ``since`` that has feedback, oldest first."""
    # Driven from the feedback (one index lookup per labelled answer): a filter on the
    # predictions' own columns here would let the planner scan every prediction instead.
    sql = text(
        "SELECT p.request_id, p.version, p.role, p.at, p.answer, f.label, f.correct, f.rating, "
        "p.confidence, p.endpoint, p.status, p.id "
        "FROM gazer_feedback f JOIN gazer_predictions p ON p.request_id = f.request_id "
        "WHERE f.endpoint = :e")
    with db.engine.connect() as conn:
        rows = [r for r in conn.execute(sql, {"e": endpoint}).fetchall()
                if r[9] == endpoint and r[3] >= since and r[10] < 400]
    rows.sort(key=lambda r: (r[3], r[11]))
    out = Labelled([], [], [], [], [], [], [])
    for rid, version, role, at, answer, label, correct, rating, confidence, *_ in rows:
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
    served = _served(db, endpoint, start)
    labels = labelled(db, endpoint, start)
    versions = []
    for (version, role), figures in sorted(served.items(),
                                           key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        idx = [i for i, (v, r) in enumerate(zip(labels.versions, labels.roles, strict=True))
               if v == version and r == role]
        row = _version_quality(version, role, figures, labels, idx).as_dict()
        row["estimate"] = estimate_accuracy(figures.confidence, labels, idx, row["accuracy"])
        versions.append(row)
    return {"endpoint": endpoint, "since": start, "versions": versions,
            "daily": _daily(labels), "timeline": _timeline(db, endpoint, start)}


def _version_quality(version: int | None, role: str, served: Served,
                     labels: Labelled, idx: list[int]) -> VersionQuality:
    outcomes = [o for o in (labels.outcome[i] for i in idx) if o is not None]
    ratings = [float(r) for r in (labels.rating[i] for i in idx) if r is not None]
    p50, p99 = served.latency_percentiles()
    return VersionQuality(version, role, served.predictions, served.errors, p50, p99,
                          wilson(int(sum(outcomes)), len(outcomes)), mean_interval(ratings))


def estimate_accuracy(confidences: tuple[np.ndarray, np.ndarray], labels: Labelled,
                      idx: list[int],
                      labelled_accuracy: dict[str, Any], min_labels: int = 30
                      ) -> dict[str, Any] | None:
    """Accuracy without labels, from the classifier's confidences (confidence-based
    performance estimation): the mean confidence, calibrated by isotonic regression on the
    labelled answers once there are ``min_labels`` of them. ``None`` for a model that gives
    no probabilities. ``gap`` is the estimate minus the labelled accuracy."""
    values, counts = confidences
    total = int(counts.sum())
    if not total:
        return None
    pairs = [(labels.confidence[i], labels.outcome[i]) for i in idx
             if labels.confidence[i] is not None and labels.outcome[i] is not None]
    if len(pairs) >= min_labels:
        from sklearn.isotonic import IsotonicRegression

        c, o = np.asarray(pairs, dtype=float).T
        calibrated = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(c, o)
        value = float(np.average(calibrated.predict(values), weights=counts))
        method = f"calibrated on {len(pairs)} labels"
    else:
        value = float(np.average(values, weights=counts))
        method = "mean confidence (not calibrated: too few labels)"
    measured = labelled_accuracy.get("value")
    return {"value": value, "n": total, "method": method,
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
    if policy != "shadow":  # shadow pairs answers by request: unpaired ones drop out anyway
        start = _live_since(db, endpoint, challenger, other_role, start)
    served = _served(db, endpoint, start)
    labels = labelled(db, endpoint, start)
    sides = {"champion": (champion, "champion"), "challenger": (challenger, other_role)}
    figures = {}
    outcomes: dict[str, list[float]] = {}
    by_request: dict[str, dict[str, float]] = defaultdict(dict)
    for side, (version, role) in sides.items():
        idx = [i for i, (v, r) in enumerate(zip(labels.versions, labels.roles, strict=True))
               if v == version and r == role]
        figures[side] = _version_quality(version, role, served.get((version, role), Served()),
                                         labels, idx).as_dict()
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


def _live_since(db: Database, endpoint: str, challenger: int, role: str,
                start: float) -> float:
    """The readout covers the time both versions answered: from the challenger's first
    answer in the window on (an index lookup). Champion-only traffic before it would skew the
    canary split's check and compare different periods."""
    with db.engine.connect() as conn:
        first = conn.execute(text(
            "SELECT min(at) FROM gazer_predictions WHERE endpoint = :e AND version = :v "
            "AND role = :r AND at >= :s"),
            {"e": endpoint, "v": challenger, "r": role, "s": start}).scalar()
    return max(start, float(first)) if first is not None else start


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
