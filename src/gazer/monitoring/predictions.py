"""The prediction log: every answer, written off the request path in batches.

Rows go to the ``gazer_predictions`` table of the run store's database (SQLite by
default, PostgreSQL unchanged). ``record`` only puts a row on a queue; a writer thread
flushes every ``flush_s`` or ``batch`` rows, so logging never slows a request down.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy import Float, Integer, String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from gazer.core.runs import Base, _make_engine

log = logging.getLogger("gazer.monitoring")


class PredictionRow(Base):
    __tablename__ = "gazer_predictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    endpoint: Mapped[str] = mapped_column(String(200), index=True)
    model: Mapped[str] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    input_digest: Mapped[str] = mapped_column(String(64))
    output: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(64), index=True)


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
    """Batches predictions into the database from a background thread."""

    def __init__(self, url: str, flush_s: float = 0.5, batch: int = 500) -> None:
        self.engine = _make_engine(url)
        Base.metadata.create_all(self.engine, tables=[PredictionRow.__table__])  # type: ignore[list-item]
        self.flush_s, self.batch = flush_s, batch
        self._queue: queue.Queue[Prediction | None] = queue.Queue(maxsize=100_000)
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="gazer-predlog", daemon=True)
        self._thread.start()

    def record(self, prediction: Prediction) -> None:
        try:
            self._queue.put_nowait(prediction)
        except queue.Full:  # back-pressure must never reach the request path
            self.dropped += 1

    def _run(self) -> None:
        pending: list[Prediction] = []
        stop = False
        while not stop:
            deadline = time.monotonic() + self.flush_s
            while len(pending) < self.batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                pending.append(item)
            if pending:
                self._write(pending)
                pending = []

    def _write(self, rows: list[Prediction]) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(PredictionRow), [dataclasses.asdict(r) for r in rows])
        except Exception:  # the writer thread is a process boundary
            log.exception("could not write %d predictions", len(rows))
            self.dropped += len(rows)

    def flush(self) -> None:
        """Write everything queued so far (waits for the writer)."""
        while not self._queue.empty():
            time.sleep(0.01)
        time.sleep(self.flush_s + 0.05)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self.engine.dispose()

    def recent(self, endpoint: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = select(PredictionRow).order_by(PredictionRow.id.desc()).limit(limit)
        if endpoint:
            q = q.where(PredictionRow.endpoint == endpoint)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]  # noqa: SLF001
