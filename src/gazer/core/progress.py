"""Progress for long work: periodic ``done/total (pct) rate ETA`` lines.

Lines go to the step's log file and to the terminal, so a user watching ``gazer run``
sees long steps move and a log reader sees the same history. ``active()`` lists the
progress bars running in this process now, for pages that show what is training.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from gazer.core.steplog import console, step_logger

T = TypeVar("T")
_running: dict[int, Progress[Any]] = {}
_lock = threading.Lock()


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress(Generic[T]):
    """Wrap an iterable; report at most every ``every_s`` seconds and at the end."""

    def __init__(
        self, items: Iterable[T], total: int | None = None, desc: str = "", every_s: float = 5.0
    ) -> None:
        self.items = items
        self.total = total if total is not None else _len(items)
        self.desc = desc
        self.every_s = every_s
        self.done = 0
        self.started = time.monotonic()

    def state(self) -> dict[str, Any]:
        """``desc``, ``done``, ``total``, ``pct``, ``elapsed_s`` and ``eta_s`` (None when the
        total or the rate is unknown)."""
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if self.total and rate > 0 else None
        return {"desc": self.desc, "done": self.done, "total": self.total,
                "pct": round(100.0 * self.done / self.total, 1) if self.total else None,
                "elapsed_s": round(elapsed, 1), "eta_s": round(eta, 1) if eta is not None
                else None}

    def line(self, elapsed: float) -> str:
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total:
            pct = 100.0 * self.done / self.total
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            eta_text = format_duration(eta) if eta != float("inf") else "?"
            return (f"{self.desc}: {self.done}/{self.total} ({pct:.0f}%) {rate:.1f}/s "
                    f"elapsed {format_duration(elapsed)} ETA {eta_text}")
        return f"{self.desc}: {self.done} done {rate:.1f}/s elapsed {format_duration(elapsed)}"

    def _report(self, elapsed: float) -> None:
        text = self.line(elapsed)
        step_logger.info(text)
        out = console()
        out.write(f"  {text}\n")
        out.flush()

    def __iter__(self) -> Iterator[T]:
        start = last = self.started = time.monotonic()
        with _lock:
            _running[id(self)] = self
        try:
            for item in self.items:
                yield item
                self.done += 1
                now = time.monotonic()
                if now - last >= self.every_s:
                    self._report(now - start)
                    last = now
            self._report(time.monotonic() - start)
        finally:
            with _lock:
                _running.pop(id(self), None)


def active() -> list[dict[str, Any]]:
    """The progress of every loop running in this process now, oldest first."""
    with _lock:
        running = sorted(_running.values(), key=lambda p: p.started)
    return [p.state() for p in running]


def _len(items: Iterable[object]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None
