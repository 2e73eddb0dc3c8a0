"""``ModelSlot``: one reference to the live model, swapped atomically.

A request reads ``slot.current`` once and keeps that object, so a swap never mixes two
versions in one answer and in-flight requests finish on the model they started with.
A serverless slot unloads after ``idle_s`` and loads again on the next request; requests
arriving during that load wait for it instead of failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gazer.errors import ModelNotReady
from gazer.serving.model import ServedModel


class ModelSlot:
    """Holds the served version of one role (champion or challenger) of an endpoint."""

    def __init__(
        self,
        label: str,
        loader: Callable[[], ServedModel] | None = None,
        *,
        serverless: bool = False,
        idle_s: float = 300.0,
    ) -> None:
        self.label = label
        self.loader = loader
        self.serverless = serverless
        self.idle_s = idle_s
        self.current: ServedModel | None = None
        self.last_error: str | None = None
        self.last_used = time.monotonic()
        self.cold_starts: list[float] = []
        self._load_lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.current is not None:
            return "ready"
        if self.last_error:
            return "failed"
        return "unloaded" if self.serverless else "loading"

    def swap(self, model: ServedModel) -> ServedModel | None:
        """Make ``model`` live; return the one it replaced."""
        old, self.current = self.current, model
        self.last_error = None
        return old

    def refuse(self, reason: str) -> None:
        """Record why a version was not swapped in; the live model stays."""
        self.last_error = reason

    def acquire(self) -> ServedModel:
        """The live model; a serverless slot loads it first (other callers wait)."""
        model = self.current
        self.last_used = time.monotonic()
        if model is not None:
            return model
        if not self.serverless or self.loader is None:
            raise ModelNotReady(f"{self.label} is not loaded yet ({self.state}"
                                f"{': ' + self.last_error if self.last_error else ''}); "
                                f"retry shortly")
        with self._load_lock:
            if self.current is None:
                started = time.perf_counter()
                try:
                    self.current = self.loader()
                except Exception as exc:  # serving boundary: report, keep the server up
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    raise ModelNotReady(f"{self.label} failed to load: {self.last_error}") \
                        from exc
                self.cold_starts.append(time.perf_counter() - started)
            return self.current

    def unload_if_idle(self, now: float | None = None) -> bool:
        """Drop a serverless model unused for ``idle_s``; returns whether it did."""
        now = time.monotonic() if now is None else now
        if self.serverless and self.current is not None and now - self.last_used >= self.idle_s:
            with self._load_lock:
                self.current = None
            return True
        return False
