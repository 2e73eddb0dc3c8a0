"""The prediction log: every answer, written off the request path in batches.

Rows go to the ``gazer_predictions`` table of the run store's database (SQLite by
default, PostgreSQL unchanged). ``record`` only puts a row on a queue; a writer thread
flushes every ``flush_s`` or ``batch`` rows, so logging never slows a request down.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from typing import Any

from sqlalchemy import insert, select

from gazer.db import Database, PredictionRow, open_database

log = logging.getLogger("gazer.monitoring")


@dataclasses.dataclass
class Prediction:
    """One logged answer (or error)."""

    endpoint: str
    model: str
    version: int | None
    role: str
    status: int
    latency_ms: float
    input_digest: str
    output: str
    request_id: str
    at: float = dataclasses.field(default_factory=time.time)


class PredictionLog:
    """Batches predictions into the database from a background thread.

    ``record`` appends to a deque (atomic, no lock, no thread wake-up per request); the
    writer wakes every ``flush_s`` and writes what accumulated in one transaction.
    """

    def __init__(self, db: Database | str, flush_s: float = 1.0,
                 max_pending: int = 100_000) -> None:
        self.db, self._owns_db = open_database(db)
        self.engine = self.db.engine
        self.flush_s, self.max_pending = flush_s, max_pending
        self._pending: collections.deque[Prediction] = collections.deque()
        self.dropped = 0
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gazer-predlog", daemon=True)
        self._thread.start()

    def record(self, prediction: Prediction) -> None:
        if len(self._pending) >= self.max_pending:  # back-pressure never reaches a request
            self.dropped += 1
            return
        self._pending.append(prediction)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        rows = []
        while self._pending:
            rows.append(self._pending.popleft())
        if rows:
            self._write(rows)

    def _write(self, rows: list[Prediction]) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(PredictionRow.__table__), [vars(r) for r in rows])  # type: ignore[arg-type]
            self.written += len(rows)
        except Exception:  # the writer thread is a process boundary
            log.exception("could not write %d predictions", len(rows))
            self.dropped += len(rows)

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until everything recorded so far is written."""
        target = self.written + self.dropped + len(self._pending)
        deadline = time.monotonic() + timeout_s
        while self.written + self.dropped < target and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self._owns_db:
            self.db.close()

    def recent(self, endpoint: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = select(PredictionRow).order_by(PredictionRow.id.desc()).limit(limit)
        if endpoint:
            q = q.where(PredictionRow.endpoint == endpoint)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]  # noqa: SLF001
