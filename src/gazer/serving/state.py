"""``ServingState``: everything a running server shares, and the prediction path."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from gazer.errors import GazerError, ModelNotFound
from gazer.monitoring.collector import MonitoringCollector
from gazer.monitoring.drift import DriftSchedule, check_all
from gazer.monitoring.drift import latest as latest_drift
from gazer.monitoring.metrics import ServingMetrics
from gazer.monitoring.predictions import Prediction, PredictionLog
from gazer.monitoring.readout import quality
from gazer.monitoring.resources import ResourceSampler
from gazer.registry.protocol import Registry
from gazer.services import Services
from gazer.serving.batcher import Batcher
from gazer.serving.endpoint import Endpoint, SwapEvent
from gazer.serving.model import ServedModel
from gazer.serving.swaps import SwapLog
from gazer.serving.traffic import pick_role
from gazer.serving.watcher import RegistryWatcher
from gazer.settings import Settings
from gazer.sql import QuerySandbox

log = logging.getLogger("gazer.serving")


@dataclasses.dataclass
class Answer:
    """A prediction and where it came from."""

    model: ServedModel
    role: str
    outputs: dict[str, np.ndarray]
    latency_ms: float


class ServingState:
    """Endpoints, the registry watcher, metrics, the prediction log and the shadow pool."""

    def __init__(self, settings: Settings, registry: Registry, endpoints: list[Endpoint],
                 predictions: PredictionLog | None, *, services: Services) -> None:
        self.settings = settings
        self.services = services
        self.swap_log = SwapLog(services.db)
        self.registry = registry
        self.endpoints = {e.name: e for e in endpoints}
        self.metrics = ServingMetrics()
        self.predictions = predictions
        self.watcher = RegistryWatcher(endpoints, settings.serving.poll_interval_s, self._swapped)
        self.shadow_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gazer-shadow")
        self.batcher = Batcher()
        self.sql = QuerySandbox(settings)
        self.started_at = time.time()
        self._busy: dict[str, tuple[int, float]] = {}
        self._busy_lock = threading.Lock()
        self.resources: ResourceSampler | None = None
        self.drift: DriftSchedule | None = None
        self.metrics.registry.register(MonitoringCollector(
            lambda: self.predictions,
            lambda: [quality(services.db, name, days=7) for name in self.endpoints],
            drift=lambda: [r for r in latest_drift(services.db) if r["endpoint"]
                           in self.endpoints]))

    def _swapped(self, event: SwapEvent) -> None:
        self.swap_log.record(event)
        self.metrics.swaps.labels(event.endpoint, event.role, "ok" if event.ok else "refused").inc()
        if event.ok:
            self.metrics.loaded.labels(event.endpoint, event.role).set(event.to_version)

    def endpoint(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            raise ModelNotFound(
                f"no served model named {name!r}; served: {', '.join(sorted(self.endpoints))}"
            ) from None

    def _route(self, name: str, key: str | None) -> tuple[Endpoint, str, ServedModel]:
        """The endpoint, the role its traffic policy picks, and that role's live model."""
        endpoint = self.endpoint(name)
        role = pick_role(endpoint.config.policy, endpoint.config.canary_weight, key)
        if role == "challenger" and endpoint.challenger.current is None:
            role = "champion"
        return endpoint, role, endpoint.slot(role).acquire()

    def predict(self, name: str, inputs: Any, request_id: str, key: str | None = None,
                outputs: set[str] | None = None,
                prepare: Callable[[ServedModel, Any], Any] | None = None) -> Answer:
        """Answer ``inputs`` on endpoint ``name`` under its traffic policy.

        ``prepare(model, inputs)`` turns a raw request (an image's bytes) into the model's
        input with *that version's* own preprocessing, after the policy picked the version,
        so one version prepares and answers each request.
        """
        endpoint, role, model = self._route(name, key)
        started = time.perf_counter()
        computed = self._outputs(endpoint, model, outputs)
        x = None
        try:
            x = prepare(model, inputs) if prepare is not None else inputs
            if endpoint.config.batching and isinstance(x, np.ndarray):
                full = self.batcher.predict(model, x, computed)
            else:
                full = model.predict(x, computed)
        except GazerError as exc:
            self._log(endpoint, model, role, exc.status_code, started, inputs, request_id,
                      error=str(exc))
            raise
        return self._answer(endpoint, model, role, started, inputs, request_id, outputs, full,
                            x, prepare)

    def batches_now(self, name: str, inputs: Any) -> bool:
        """Whether ``predict_batched`` can answer ``inputs`` on ``name`` without blocking the
        event loop: batching is on and the endpoint is always-on (a serverless slot may have
        to load its model first)."""
        endpoint = self.endpoint(name)
        return (endpoint.config.batching and not endpoint.config.serverless
                and isinstance(inputs, np.ndarray))

    async def predict_batched(self, name: str, inputs: np.ndarray, request_id: str,
                              key: str | None = None,
                              outputs: set[str] | None = None) -> Answer:
        """``predict`` for an event loop, when ``batches_now``: the request awaits its share
        of a batch instead of holding a worker thread that waits on it."""
        endpoint, role, model = self._route(name, key)
        started = time.perf_counter()
        computed = self._outputs(endpoint, model, outputs)
        try:
            full = await asyncio.wrap_future(self.batcher.submit(model, inputs, computed))
        except GazerError as exc:
            self._log(endpoint, model, role, exc.status_code, started, inputs, request_id,
                      error=str(exc))
            raise
        return self._answer(endpoint, model, role, started, inputs, request_id, outputs, full,
                            inputs, None)

    def _outputs(self, endpoint: Endpoint, model: ServedModel,
                 outputs: set[str] | None) -> set[str]:
        """The outputs to compute: those asked for (the log keeps the confidence too)."""
        asked = outputs or {"predict"}
        if self.predictions is not None and endpoint.config.log_payloads != "none" \
                and "probabilities" in model.output_names:
            return asked | {"probabilities"}
        return asked

    def _answer(self, endpoint: Endpoint, model: ServedModel, role: str, started: float,
                inputs: Any, request_id: str, outputs: set[str] | None,
                full: dict[str, np.ndarray], x: Any,
                prepare: Callable[[ServedModel, Any], Any] | None) -> Answer:
        """Log the answer, hand a shadow copy to the challenger, keep the outputs asked for."""
        asked = outputs or {"predict"}
        answer = {k: v for k, v in full.items() if k in asked}
        latency_ms = self._log(endpoint, model, role, 200, started, inputs, request_id, full,
                               model_input=x)
        if endpoint.config.policy == "shadow" and endpoint.challenger.current is not None:
            self.shadow_pool.submit(self._shadow, endpoint, inputs, request_id, outputs,
                                    prepare)
        return Answer(model, role, answer, latency_ms)

    def _shadow(self, endpoint: Endpoint, inputs: Any, request_id: str,
                outputs: set[str] | None = None,
                prepare: Callable[[ServedModel, Any], Any] | None = None) -> None:
        """The challenger answers the same request, prepared its own way, off the live path."""
        model = endpoint.challenger.current
        if model is None:
            return
        started = time.perf_counter()
        try:
            x = prepare(model, inputs) if prepare is not None else inputs
            answer = model.predict(x, outputs)
            self._log(endpoint, model, "shadow", 200, started, inputs, request_id, answer,
                      model_input=x)
        except Exception as exc:  # the shadow must never affect the live answer
            self._log(endpoint, model, "shadow", 500, started, inputs, request_id,
                      error=str(exc))

    def _log(self, endpoint: Endpoint, model: ServedModel, role: str, status: int,
             started: float, inputs: Any, request_id: str,
             answer: dict[str, np.ndarray] | None = None, error: str | None = None,
             model_input: Any = None) -> float:
        """Meter the answer and queue it for the prediction log (serialised off this path)."""
        latency = time.perf_counter() - started
        with self._busy_lock:  # for the resource sampler's energy shares
            n, busy = self._busy.get(endpoint.name, (0, 0.0))
            self._busy[endpoint.name] = (n + 1, busy + latency)
        version = str(model.version)
        self.metrics.requests.labels(endpoint.name, version, role, str(status)).inc()
        if role != "shadow":
            self.metrics.latency.labels(endpoint.name, version).observe(latency)
        if self.predictions is not None:
            self.predictions.record(Prediction(
                endpoint=endpoint.name, model=model.name, version=model.version, role=role,
                status=status, latency_ms=latency * 1000, input_digest="",
                output=(error or "")[:2000], request_id=request_id, inputs=inputs,
                outputs=answer, mode=endpoint.config.log_payloads,
                class_names=model.class_names, model_input=model_input,
                vocabulary=model.vocabulary,
            ))
        return latency * 1000

    def take_busy(self) -> dict[str, tuple[int, float]]:
        """Predictions and seconds spent per endpoint since the last call."""
        with self._busy_lock:
            busy, self._busy = self._busy, {}
        return busy

    def start_resource_sampler(self) -> None:
        interval = self.settings.serving.resource_interval_s
        if interval > 0:
            self.resources = ResourceSampler(self.services.db, self.take_busy,
                                             self.settings.home, self.settings.tracking.country,
                                             interval).start()

    def start_drift_checks(self) -> None:
        interval = self.settings.serving.drift_interval_s
        if interval > 0:
            self.drift = DriftSchedule(self.check_drift, interval).start()

    def check_drift(self) -> list[dict[str, Any]]:
        """A recorded drift report for every endpoint whose model has a champion."""
        if self.predictions is not None:
            self.predictions.flush()
        return check_all(self.services.db, self.services.storage, self.registry,
                         {n: e.config.model_name for n, e in self.endpoints.items()},
                         self.settings.serving.drift_window)

    def close(self) -> None:
        if self.drift is not None:
            self.drift.stop()
        if self.resources is not None:
            self.resources.stop()
        self.watcher.stop()
        self.shadow_pool.shutdown(wait=True)
        self.batcher.close()
        self.sql.close()
        if self.predictions is not None:
            self.predictions.close()

