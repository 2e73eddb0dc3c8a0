"""``RegistryWatcher``: decides when endpoints look at the registry again.

Every ``interval_s`` it asks each endpoint to follow its aliases; how a new version is
loaded aside, warmed, swapped in or refused is the endpoint's own business
(``Endpoint.follow``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from gazer.serving.endpoint import Endpoint, SwapEvent

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
                endpoint.apply_traffic_tags()
                for role, alias in endpoint.roles():
                    event = endpoint.follow(role, alias)
                    if event is not None:
                        self.on_swap(event)
                        events.append(event)
                for role in ("champion", "challenger"):
                    endpoint.slot(role).unload_if_idle()
        return events

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
