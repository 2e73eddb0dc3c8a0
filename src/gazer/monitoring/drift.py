"""Drift reports: the recent window of an endpoint's logged answers against the serving
version's reference profile (``gazer.ml.profiles``, tested with ``gazer.ml.drift``).

The window is the champion's successful answers since a time (``1h``, ``7d``) or the last N.
Its scalar features come from every row of the window; the pixel vectors and texts the domain
classifier needs, from a random sample of 500 rows. Each check is recorded in
``gazer_drift_reports``, so a retraining policy can ask whether the last K windows drifted.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import func, select, text

from gazer.catalog import app_for_model
from gazer.core.context import store_profile
from gazer.db import Database, DriftReportRow
from gazer.errors import GazerError, InvalidInput, NotFound
from gazer.ml.drift import Window, compare
from gazer.ml.profiles import VECTORS, Profile, first_text, profile_key
from gazer.monitoring.datasets import parse_since
from gazer.registry.protocol import CHAMPION, Registry
from gazer.storage.protocol import Storage

DEFAULT_WINDOW = "1h"
log = logging.getLogger("gazer.monitoring")


def parse_window(window: str | int | None) -> tuple[float | None, int | None]:
    """``1h``/``7d``/a date → (since, None); ``N`` → (None, N)."""
    if window is None or window == "":
        window = DEFAULT_WINDOW
    if isinstance(window, int) or re.fullmatch(r"\d+", str(window).strip()):
        n = int(window)
        if n < 1:
            raise InvalidInput(f"a window of N answers needs N >= 1; got {n}")
        return None, n
    return parse_since(str(window)), None


def read_window(db: Database, endpoint: str, version: int | None, since: float | None = None,
                last: int | None = None, sample: int = VECTORS, seed: int = 0) -> Window:
    """The champion's successful answers in the window, as drift features."""
    where = ("endpoint = :e AND role = 'champion' AND status < 400 AND "
             + ("version = :v" if version is not None else "version IS NULL"))
    args: dict[str, Any] = {"e": endpoint, "v": version}
    if since is not None:
        where += " AND at >= :s"
        args["s"] = since
    limit = " LIMIT :n" if last is not None else ""
    if last is not None:
        args["n"] = last
    sql = text(f"SELECT id, features, answer, confidence FROM gazer_predictions WHERE {where} "  # nosec B608 # constant clauses, values bound
               f"ORDER BY id DESC{limit}")
    scalars: dict[str, list[float]] = {}
    answers: list[str] = []
    confidence: list[float] = []
    ids: list[int] = []
    with db.engine.connect() as conn:
        for row_id, features, answer, conf in conn.execute(sql, args):
            ids.append(row_id)
            if features:
                for k, v in json.loads(features).items():
                    scalars.setdefault(k, []).append(v)
            if answer is not None:
                answers.append(answer)
            if conf is not None:
                confidence.append(conf)
        picked = sorted(random.Random(seed).sample(ids, min(sample, len(ids))))  # nosec B311 # a sample for statistics, not a secret
        vectors: list[list[float]] = []
        texts: list[str] = []
        for i in range(0, len(picked), 500):
            for vector, body in conn.execute(text(
                    "SELECT vector, input FROM gazer_predictions WHERE id IN :ids").bindparams(
                    _expanding("ids")), {"ids": picked[i:i + 500]}):
                if vector:
                    vectors.append(np.frombuffer(vector, dtype=np.float32).tolist())
                elif body:
                    found = _text_of(body)
                    if found:
                        texts.append(found)
    return Window(scalars, answers, confidence, vectors, texts, n=len(ids))


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def _text_of(body: str) -> str | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if isinstance(value, str | list) and value:
        found = first_text(value)
        return found or None
    return None


def load_profile(storage: Storage, registry: Registry, model: str, version: int,
                 on_demand: bool = False) -> Profile | None:
    """The version's stored profile; with ``on_demand``, one made now for a version
    registered before profiles existed, from its app's data (``None`` when neither)."""
    found = registry.get_version(model, version)
    key = found.tags.get("gazer.profile") or profile_key(model, version)
    if storage.exists(key):
        return Profile.from_json(storage.read_bytes(key).decode())
    if not on_demand:
        return None
    app = app_for_model(model)
    if app is None or app.profile_inputs is None:
        return None
    log.info("profiling %s v%d from its app's data (registered before profiles)", model,
             version)
    try:
        inputs = app.profile_inputs(found)
    except GazerError as exc:  # its data is gone (a dataset folder, a package): say so
        log.warning("cannot rebuild the validation data of %s v%d: %s", model, version, exc)
        return None
    made = store_profile(storage, model, version, registry.load_model(model, version), inputs)
    if made is None:
        return None
    registry.set_version_tags(model, version, {"gazer.profile": made})
    return Profile.from_json(storage.read_bytes(made).decode())


def drift_report(db: Database, storage: Storage, registry: Registry, endpoint: str,
                 model: str, window: str | int | None = None, version: int | None = None,
                 alpha: float = 0.05, record: bool = True) -> dict[str, Any]:
    """Compare the window with the serving (champion) version's profile; record it."""
    if version is None:
        champion = registry.find_alias(model, CHAMPION)
        if champion is None:
            raise NotFound(f"model {model!r} has no champion to compare production with")
        version = champion.version
    since, last = parse_window(window)
    profile = load_profile(storage, registry, model, version, on_demand=True)
    base = {"endpoint": endpoint, "model": model, "version": version, "at": time.time(),
            "window": {"since": since, "last": last}}
    if profile is None:
        out = {**base, "drifted": None, "drivers": [], "n_window": 0, "features": [],
               "detail": f"{model} v{version} has no reference profile: its pipeline gives "
                         f"none and its app cannot rebuild its validation data; retrain it "
                         f"with profile_inputs= in publish to make one"}
    else:
        found = read_window(db, endpoint, version, since, last)
        report = compare(profile, found, alpha=alpha)
        out = {**base, **report.as_dict(),
               "drifted": report.drifted if report.features else None,
               "profile": {"kind": profile.kind, "n": profile.n}}
    if record:
        record_report(db, out)
    return out


def record_report(db: Database, report: dict[str, Any]) -> None:
    with db.session() as s:
        s.add(DriftReportRow(at=report["at"], endpoint=report["endpoint"],
                             model=report["model"], version=report["version"],
                             drifted=report["drifted"], n_window=report["n_window"],
                             drivers=",".join(report["drivers"]),
                             report=json.dumps(report, default=float)))


def history(db: Database, endpoint: str, limit: int = 50) -> list[dict[str, Any]]:
    """The newest drift checks of ``endpoint`` first (without their plots)."""
    q = select(DriftReportRow).where(DriftReportRow.endpoint == endpoint) \
        .order_by(DriftReportRow.id.desc()).limit(limit)
    with db.session() as s:
        return [{"at": r.at, "version": r.version, "drifted": r.drifted,
                 "n_window": r.n_window, "drivers": [d for d in r.drivers.split(",") if d]}
                for r in s.scalars(q)]


class DriftSchedule:
    """Runs ``check`` every ``interval_s`` on a daemon thread (``gazer serve``, ``gazer
    watch``); a failing check is logged and tried again next time."""

    def __init__(self, check: Callable[[], object], interval_s: float) -> None:
        self.check, self.interval_s = check, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gazer-drift", daemon=True)

    def start(self) -> DriftSchedule:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # housekeeping: never take the server down
                log.exception("scheduled drift check failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def check_all(db: Database, storage: Storage, registry: Registry,
              endpoints: dict[str, str], window: str) -> list[dict[str, Any]]:
    """A recorded drift report for each ``endpoint -> model`` whose model has a champion."""
    reports = []
    for endpoint, model in endpoints.items():
        if registry.find_alias(model, CHAMPION) is None:
            continue
        report = drift_report(db, storage, registry, endpoint, model, window)
        log.info("drift %s: %s", endpoint, report["detail"])
        reports.append(report)
    return reports


def latest(db: Database) -> list[dict[str, Any]]:
    """The newest recorded report of each endpoint (for the Prometheus gauges)."""
    newest = select(DriftReportRow.endpoint, func.max(DriftReportRow.id)).group_by(
        DriftReportRow.endpoint)
    with db.session() as s:
        ids = [i for _, i in s.execute(newest)]
        rows = s.scalars(select(DriftReportRow).where(DriftReportRow.id.in_(ids))).all()
        return [json.loads(r.report) for r in rows]
