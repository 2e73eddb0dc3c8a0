"""``RegistryWatcher``: follows aliases in the registry and swaps models in, safely.

When an alias moves, the new version is loaded and warmed aside (the old one keeps
answering), then swapped in by replacing one reference. A version that fails to load or
warm is never swapped in; the failure is logged, counted and shown in the endpoint's
status, and that version is not retried until the alias moves again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from gazer.serving.endpoint import Endpoint, SwapEvent
from gazer.serving.model import load_served_model

log = logging.getLogger("gazer.serving")


class RegistryWatcher:
    """Polls the registry every ``interval_s`` on a daemon thread."""

    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        interval_s: float,
        on_swap: Callable[[SwapEvent], None] | None = None,
    ) -> None:
        self.endpoints = list(endpoints)
        self.interval_s = interval_s
        self.on_swap = on_swap or (lambda _e: None)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def sync_once(self) -> list[SwapEvent]:
        """Bring every endpoint in line with the registry now; returns what happened."""
        events: list[SwapEvent] = []
        with self._lock:
            for endpoint in self.endpoints:
                for role, alias in endpoint.roles():
                    event = self._sync_role(endpoint, role, alias)
                    if event is not None:
                        events.append(event)
                for role in ("champion", "challenger"):
                    endpoint.slot(role).unload_if_idle()
        return events

    def _sync_role(self, endpoint: Endpoint, role: str, alias: str) -> SwapEvent | None:
        slot = endpoint.slot(role)
        try:
            target = endpoint.registry.find_alias(endpoint.config.model_name, alias)
        except Exception as exc:  # registry outage: keep serving what is loaded
            log.warning("registry lookup for %s failed: %s", endpoint.name, exc)
            return None
        if target is None:
            return None
        current = slot.current.version if slot.current else None
        if target.version == current or target.version in endpoint.failed_versions[role]:
            return None
        if slot.serverless and slot.current is None:
            return None  # loads on the next request, at the alias's version then
        started = time.perf_counter()
        try:
            model = load_served_model(endpoint.registry, endpoint.config.model_name,
                                      target.version)
        except Exception as exc:  # a bad version must not take the endpoint down
            endpoint.failed_versions[role].add(target.version)
            slot.last_error = f"v{target.version} refused: {type(exc).__name__}: {exc}"
            event = SwapEvent(time.time(), endpoint.name, role, current, target.version, False,
                              time.perf_counter() - started, slot.last_error)
            log.error("swap of %s %s to v%d refused: %s", endpoint.name, role, target.version,
                      exc)
        else:
            slot.swap(model)
            event = SwapEvent(time.time(), endpoint.name, role, current, target.version, True,
                              time.perf_counter() - started)
            log.info("swapped %s %s v%s -> v%d", endpoint.name, role, current, target.version)
        endpoint.record(event)
        self.on_swap(event)
        return event

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gazer-watcher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sync_once()
            except Exception:  # the loop is a process boundary: log and keep watching
                log.exception("registry watcher iteration failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
