"""Prometheus metrics for serving, on a registry of their own per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ServingMetrics:
    """Requests, errors, latency, loaded versions and swaps, per endpoint and version."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("gazer_requests", "Prediction requests",
                                ["endpoint", "version", "role", "status"], registry=self.registry)
        self.latency = Histogram(
            "gazer_request_latency_seconds", "Prediction latency", ["endpoint", "version"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.loaded = Gauge("gazer_loaded_version", "Version loaded per endpoint role",
                            ["endpoint", "role"], registry=self.registry)
        self.swaps = Counter("gazer_swaps", "Model swaps", ["endpoint", "role", "result"],
                             registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
