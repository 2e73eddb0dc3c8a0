"""The loop of ``gazer watch``: scan, fire schedules, sleep; an outage never ends it.

A storage or database outage (S3 endpoint down, PostgreSQL restarting) makes a scan raise.
The loop logs it, waits twice as long after each failure in a row (capped), and resumes on
the first scan that succeeds; the ledger's claims keep every object handled exactly once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("gazer.triggers")


def watch_forever(
    tick: Callable[[], Any],
    interval_s: float,
    echo: Callable[[str], None],
    *,
    max_backoff_s: float = 60.0,
    stop: threading.Event | None = None,
) -> None:
    """Call ``tick`` every ``interval_s`` until ``stop`` is set, backing off on failures."""
    stop = stop or threading.Event()
    failures = 0
    while not stop.is_set():
        try:
            tick()
        except Exception as exc:  # the trigger loop's boundary: log, back off, go on
            failures += 1
            wait = min(interval_s * 2 ** failures, max_backoff_s)
            log.warning("scan failed (%d in a row)", failures, exc_info=True)
            echo(f"watch: scan failed: {type(exc).__name__}: {str(exc)[:300]}; retrying in "
                 f"{wait:.1f} s ({failures} failure(s) in a row)")
        else:
            if failures:
                echo(f"watch: recovered after {failures} failed scan(s)")
            failures, wait = 0, interval_s
        stop.wait(wait)
