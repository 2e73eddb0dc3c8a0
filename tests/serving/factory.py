"""Models and apps for serving tests: each model answers with its own version number."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from gazer.registry.memory import MemoryRegistry
from gazer.registry.promotion import promote
from gazer.serving.app import create_app
from gazer.settings import EndpointSettings, Settings

EXAMPLE = np.zeros((2, 3))


class VersionModel:
    """Predicts its version for every row; can be slow, or broken."""

    def __init__(self, version: int, delay_s: float = 0.0, broken: bool = False) -> None:
        self.version, self.delay_s, self.broken = version, delay_s, broken

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.broken:
            raise RuntimeError("this version cannot predict")
        if self.delay_s:
            time.sleep(self.delay_s)
        return np.full(len(x), self.version)


def registry_with(n: int, delay_s: float = 0.0, champion: int | None = 1) -> MemoryRegistry:
    registry = MemoryRegistry()
    for v in range(1, n + 1):
        registry.register("m", VersionModel(v, delay_s), input_example=EXAMPLE,
                          metrics={"accuracy": 0.5 + v / 100})
    if champion:
        promote(registry, "m", champion)
    return registry


def settings_for(tmp: Path, **serving: object) -> Settings:
    options = {"poll_interval_s": 3600.0, **serving}
    return Settings(home=tmp / "home", tracking={"co2": False}, serving=options)  # type: ignore[arg-type]


@contextmanager
def client_for(
    tmp: Path, registry: MemoryRegistry, endpoint: EndpointSettings | None = None,
    **serving: object,
) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp, **serving), registry=registry,
                     endpoints=[endpoint or EndpointSettings(name="m")])
    with TestClient(app) as client:
        yield client


def body(rows: int = 1, cols: int = 3) -> dict[str, object]:
    return {"inputs": [{"name": "x", "shape": [rows, cols], "datatype": "FP64",
                        "data": [0.5] * (rows * cols)}]}


@contextmanager
def live_server(app: object) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port; yield its base URL."""
    import socket
    import threading
    import urllib.request

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                break
        except OSError:
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
