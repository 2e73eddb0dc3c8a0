"""Prometheus figures read at scrape time: the prediction log's counts and quality per version.

Quality comes from the database, so it is computed at most once per ``ttl_s`` (60 s), however
often Prometheus scrapes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gazer.monitoring.predictions import PredictionLog


class MonitoringCollector(Collector):
    """``gazer_predictions_{written,dropped}_total``, ``gazer_predictions_pending`` and, per
    endpoint and version, ``gazer_labelled_accuracy`` with its interval and label count, and
    the newest drift check's ``gazer_drift_detected`` and per-feature ``gazer_drift_effect``."""

    def __init__(self, log: Callable[[], PredictionLog | None],
                 quality: Callable[[], list[dict[str, Any]]], ttl_s: float = 60.0,
                 drift: Callable[[], list[dict[str, Any]]] | None = None) -> None:
        self._log, self._quality, self.ttl_s = log, quality, ttl_s
        self._drift = drift or list
        self._cached: list[dict[str, Any]] = []
        self._cached_drift: list[dict[str, Any]] = []
        self._at = 0.0
        self._lock = threading.Lock()

    def _reports(self) -> list[dict[str, Any]]:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl_s:
                try:
                    self._cached = self._quality()
                    self._cached_drift = self._drift()
                except Exception:  # a scrape must answer even when the database does not
                    self._cached, self._cached_drift = [], []
                self._at = time.monotonic()
            return self._cached

    def collect(self) -> Iterator[Any]:
        log = self._log()
        if log is not None:
            yield CounterMetricFamily("gazer_predictions_written", "Predictions logged",
                                      value=log.written)
            yield CounterMetricFamily("gazer_predictions_dropped",
                                      "Predictions not logged (queue full)", value=log.dropped)
            yield GaugeMetricFamily("gazer_predictions_pending",
                                    "Predictions waiting to be written", value=log.pending)
        labels = ["endpoint", "version", "role"]
        accuracy = GaugeMetricFamily("gazer_labelled_accuracy",
                                     "Accuracy from feedback over the window", labels=labels)
        low = GaugeMetricFamily("gazer_labelled_accuracy_low",
                                "Lower end of its 95% Wilson interval", labels=labels)
        count = GaugeMetricFamily("gazer_labelled_predictions",
                                  "Labelled predictions behind the accuracy", labels=labels)
        for report in self._reports():
            for v in report["versions"]:
                key = [report["endpoint"], str(v["version"]), v["role"]]
                count.add_metric(key, v["accuracy"]["n"])
                if v["accuracy"]["value"] is not None:
                    accuracy.add_metric(key, v["accuracy"]["value"])
                    low.add_metric(key, v["accuracy"]["low"])
        yield accuracy
        yield low
        yield count
        yield from self._drift_gauges()

    def _drift_gauges(self) -> Iterator[Any]:
        detected = GaugeMetricFamily(
            "gazer_drift_detected", "1 when the newest drift check found drift, 0 when not",
            labels=["endpoint", "version"])
        effect = GaugeMetricFamily(
            "gazer_drift_effect", "Each feature's effect size in the newest drift check",
            labels=["endpoint", "version", "feature"])
        for report in self._cached_drift:
            if report.get("drifted") is None:
                continue
            key = [report["endpoint"], str(report["version"])]
            detected.add_metric(key, 1.0 if report["drifted"] else 0.0)
            for f in report.get("features", []):
                effect.add_metric([*key, f["name"]], f["effect"])
        yield detected
        yield effect
