"""Progress for long work: periodic ``done/total (pct) rate ETA`` lines.

Lines go to the step's log file and to the terminal, so a user watching ``gazer run``
sees long steps move and a log reader sees the same history.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from gazer.core.steplog import console, step_logger

T = TypeVar("T")


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
        start = last = time.monotonic()
        for item in self.items:
            yield item
            self.done += 1
            now = time.monotonic()
            if now - last >= self.every_s:
                self._report(now - start)
                last = now
        self._report(time.monotonic() - start)


def _len(items: Iterable[object]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None
