"""Two ``gazer serve`` replicas behind HAProxy: alias moves and a replica killed with SIGKILL
under load lose no request, and the replica rejoins when it is back. Load goes to loopback
only, bounded in count."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gazer.catalog import get_pipeline
from gazer.core.runner import Runner
from gazer.registry.promotion import promote
from gazer.registry.resolve import registry_from_settings
from gazer.serving.haproxy import haproxy_config, haproxy_status
from gazer.settings import Settings

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("haproxy") is None,
                                 reason="needs Debian's haproxy (make test installs it)")]
BODY = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": [1.0] * 30}]}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s")


class Stack:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "GAZER_HOME": str(home), "GAZER_TRACKING__CO2": "false",
                    "GAZER_SERVING__POLL_INTERVAL_S": "0.5",
                    "GAZER_SERVING__ENDPOINTS": '[{"name": "example", "model": "example"}]'}
        self.ports = {"r1": _port(), "r2": _port()}
        self.replicas: dict[str, subprocess.Popen[bytes]] = {}
        self.front = _port()
        self.socket = str(home / "haproxy.sock")

    def start_replica(self, name: str) -> None:
        log = (self.home / f"{name}.log").open("ab")
        self.replicas[name] = subprocess.Popen(
            [sys.executable, "-m", "gazer.cli", "serve", "--port", str(self.ports[name])],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        _wait(f"http://127.0.0.1:{self.ports[name]}/readyz")

    def start_haproxy(self) -> None:
        cfg = self.home / "haproxy.cfg"
        cfg.write_text(haproxy_config(f"127.0.0.1:{self.front}", [
            (n, f"127.0.0.1:{p}") for n, p in self.ports.items()], stats_socket=self.socket))
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)],
                                        stdout=(self.home / "haproxy.log").open("ab"),
                                        stderr=subprocess.STDOUT)
        _wait(f"http://127.0.0.1:{self.front}/readyz")

    def status(self) -> dict[str, str]:
        return haproxy_status(self.socket)

    def stop(self) -> None:
        for proc in [*self.replicas.values(), getattr(self, "haproxy", None)]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    home = tmp_path / "home"
    settings = Settings(home=home, tracking={"co2": False})  # type: ignore[arg-type]
    runner = Runner(settings)
    try:
        for c in (1.0, 0.05):  # two versions to move the alias between
            assert runner.run(get_pipeline("example"), {"train_logreg.C": c}).status == \
                "succeeded"
    finally:
        runner.close()
    made = Stack(home)
    try:
        made.start_replica("r1")
        made.start_replica("r2")
        made.start_haproxy()
        yield made
    finally:
        made.stop()


def _load(stack: Stack, n: int, during: Any = None, at: int = 0) -> list[tuple[int, str]]:
    """At least ``n`` requests one after another through HAProxy; ``during()`` starts after
    ``at`` of them, and the load goes on until it has finished (at most ``3 n`` requests)."""
    answers: list[tuple[int, str]] = []
    side: threading.Thread | None = None
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.front}", timeout=30) as http:
        for i in range(3 * n):
            if i >= n and (side is None or not side.is_alive()):
                break
            if during is not None and i == at:
                side = threading.Thread(target=during, daemon=True)
                side.start()
            try:
                r = http.post("/v2/models/example/infer", json=BODY)
                answers.append((r.status_code, r.headers.get("x-gazer-replica", "")))
            except httpx.HTTPError as exc:
                answers.append((0, type(exc).__name__))
    return answers


def test_a_replica_killed_under_load_loses_no_request_and_rejoins(stack: Stack) -> None:
    first = _load(stack, 300, during=lambda: stack.replicas["r1"].send_signal(signal.SIGKILL),
                  at=60)
    assert Counter(code for code, _ in first) == {200: len(first)}, Counter(first)
    assert {name for _, name in first[:60]} == {"r1", "r2"}  # both served before the kill
    deadline = time.monotonic() + 30
    while stack.status()["r1"] != "DOWN" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.status() == {"r1": "DOWN", "r2": "UP"}
    stack.start_replica("r1")  # the machine comes back
    deadline = time.monotonic() + 60
    while stack.status()["r1"] != "UP" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.status() == {"r1": "UP", "r2": "UP"}
    again = _load(stack, 40)
    assert Counter(code for code, _ in again) == {200: 40}
    assert Counter(name for _, name in again) == {"r1": 20, "r2": 20}  # round robin again


def test_ten_alias_moves_under_load_lose_no_request(stack: Stack) -> None:
    registry = registry_from_settings(Settings(home=stack.home))

    def move() -> None:
        for i in range(10):
            promote(registry, "example", 2 if i % 2 == 0 else 1, reason="test move")
            time.sleep(0.3)

    answers = _load(stack, 300, during=move, at=20)
    assert len(answers) >= 300 and Counter(code for code, _ in answers) == {200: len(answers)}, \
        Counter(answers)
    champion = registry.get_version("example", "champion").version
    for port in stack.ports.values():  # both replicas converge on the last champion
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            loaded = httpx.get(f"http://127.0.0.1:{port}/v2/models/example").json()
            if str(champion) in str(loaded.get("versions", loaded)):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the replica on {port} never loaded v{champion}: {loaded}")
