"""The prediction log: every answer with its input, written off the request path in batches.

Rows go to the ``gazer_predictions`` table of gazer's database (SQLite by default,
PostgreSQL unchanged). ``record`` only appends the request's own objects to a queue; the
writer thread turns them into JSON, stores oversized payloads as objects, and writes a batch
every ``flush_s`` in one transaction, so logging costs a request one ``deque.append``.

What a crash can lose: the rows of the last flush window (``flush_s``, 1 s by default), which
live only in memory until written. While the database is down rows wait, up to
``max_pending``, and are written when it is back; only rows beyond that are dropped, and every
dropped row is counted (``dropped``, the ``gazer_predictions_dropped_total`` metric).

Payload modes, per endpoint (``EndpointSettings.log_payloads``):

- ``full``: the input and the output as JSON. A payload over ``max_payload_bytes``, or one
  that is not JSON (an image's bytes), is stored in storage under
  ``monitoring/payloads/ENDPOINT/DATE/REQUEST_ID-ROLE.json|.bin`` and the row keeps its
  summary and ``payload_key``.
- ``summary``: feature summaries only (shape, length, mean, ...), for personal data.
- ``none``: no payload; the digest, the answer, the latency and the status stay.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, insert, select

from gazer.db import Database, PredictionRow, open_database, rollups
from gazer.ml import profiles
from gazer.storage.protocol import Storage

log = logging.getLogger("gazer.monitoring")
MODES = ("full", "summary", "none")


@dataclasses.dataclass
class Prediction:
    """One logged answer (or error). ``inputs`` and ``outputs`` are the request's own objects;
    the writer serialises them."""

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
    inputs: Any = None
    outputs: Any = None
    mode: str = "full"
    class_names: tuple[str, ...] | None = None  # names of the indexes ``predict`` answers
    model_input: Any = None  # what the model was given (after the app's own preparation)
    vocabulary: frozenset[str] | None = None  # the words a text model knows (drift's OOV)


class PredictionLog:
    """Batches predictions into the database from a background thread.

    ``record`` appends to a deque (atomic, no lock, no thread wake-up per request); the
    writer wakes every ``flush_s`` and writes what accumulated in one transaction. Retention
    (``retention_days``, ``retention_rows``) is enforced by the same thread every
    ``retention_every_s``.
    """

    def __init__(self, db: Database | str, flush_s: float = 1.0,
                 max_pending: int = 100_000, *, storage: Storage | None = None,
                 max_payload_bytes: int = 64 * 1024, retention_days: float | None = 30.0,
                 retention_rows: int | None = 1_000_000,
                 retention_every_s: float = 600.0) -> None:
        self.db, self._owns_db = open_database(db)
        self.engine = self.db.engine
        self.flush_s, self.max_pending = flush_s, max_pending
        self.storage, self.max_payload_bytes = storage, max_payload_bytes
        self._rows = Rows(storage, max_payload_bytes)
        self.retention_days, self.retention_rows = retention_days, retention_rows
        self.retention_every_s = retention_every_s
        self._pending: collections.deque[Prediction] = collections.deque()
        self.dropped = 0
        self.written = 0
        self.write_errors = 0
        self._last_retention = time.time()  # first pass one interval after start
        self._stop = threading.Event()
        self._wake = threading.Event()  # flush() asks the writer not to wait out its interval
        self._thread = threading.Thread(target=self._run, name="gazer-predlog", daemon=True)
        self._thread.start()

    def record(self, prediction: Prediction) -> None:
        if len(self._pending) >= self.max_pending:  # back-pressure never reaches a request
            self.dropped += 1
            return
        self._pending.append(prediction)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            self._drain()
            self._maybe_enforce_retention()
        self._drain()

    def _drain(self) -> None:
        rows = []
        while self._pending:
            rows.append(self._pending.popleft())
        if rows and not self._write(rows):
            # the database is down: the rows wait (newest kept) for the next flush
            room = self.max_pending - len(self._pending)
            kept = rows[-room:] if room > 0 else []
            self.dropped += len(rows) - len(kept)
            self._pending.extendleft(reversed(kept))

    def _write(self, rows: list[Prediction]) -> bool:
        try:
            values = [self._rows.row(r) for r in rows]
            with self.engine.begin() as conn:
                insert_rows(conn, values)
        except Exception:  # the writer thread is a process boundary: keep the rows, retry
            self.write_errors += 1
            log.exception("could not write %d predictions; keeping them for the next flush",
                          len(rows))
            return False
        self.written += len(rows)
        return True

    def _maybe_enforce_retention(self) -> None:
        now = time.time()
        if now - self._last_retention < self.retention_every_s:
            return
        self._last_retention = now
        try:
            self.enforce_retention(now)
        except Exception:  # retention is housekeeping: log and try again next time
            log.exception("prediction log retention failed")

    def enforce_retention(self, now: float | None = None) -> int:
        """Delete rows older than ``retention_days`` and beyond the newest
        ``retention_rows``, and the payload objects they point to; returns how many rows
        went. The rollups follow the age limit only: the counts of rows removed for the row
        limit stay in the readouts' volume, latency and error figures."""
        now = time.time() if now is None else now
        removed = 0
        table = PredictionRow.__table__
        column = table.c
        payloads: list[str] = []
        with self.engine.begin() as conn:
            conditions = []
            if self.retention_days is not None:
                conditions.append(column.at < now - self.retention_days * 86400)
                rollups.prune(conn, now - self.retention_days * 86400)
            if self.retention_rows is not None:
                total = conn.execute(select(func.count()).select_from(table)).scalar_one()
                if total > self.retention_rows:
                    edge = conn.execute(select(column.id).order_by(column.id.desc())
                                        .offset(self.retention_rows).limit(1)).scalar()
                    if edge is not None:
                        conditions.append(column.id <= edge)
            for condition in conditions:
                payloads += [k for (k,) in conn.execute(
                    select(column.payload_key).where(condition, column.payload_key.is_not(None)))]
                removed += conn.execute(delete(PredictionRow).where(condition)).rowcount
        if self.storage is not None:
            self._delete_payloads(self.storage, payloads)
        return removed

    @staticmethod
    def _delete_payloads(storage: Storage, keys: list[str]) -> None:
        for key in keys:
            try:
                storage.delete(key)
            except Exception:  # a payload already gone, or storage down: the row is gone
                log.warning("could not delete the payload %s", key)

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until everything recorded so far is written (or dropped)."""
        target = self.written + self.dropped + len(self._pending)
        deadline = time.monotonic() + timeout_s
        while self.written + self.dropped < target and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.005)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        if self._owns_db:
            self.db.close()

    def recent(self, endpoint: str | None = None, limit: int = 100,
               since: float | None = None) -> list[dict[str, Any]]:
        """The newest rows first, as dicts."""
        return recent(self.db, endpoint, limit, since)


class Rows:
    """Turns predictions into table rows: JSON payloads, oversized ones stored as objects."""

    def __init__(self, storage: Storage | None, max_payload_bytes: int) -> None:
        self.storage, self.max_payload_bytes = storage, max_payload_bytes

    def row(self, p: Prediction) -> dict[str, Any]:
        if not p.input_digest:
            p.input_digest = digest(p.inputs)
        if not p.output and p.outputs is not None:
            p.output = summary_text(p.outputs)
        row = {f: getattr(p, f) for f in ("endpoint", "model", "version", "role", "status",
                                           "latency_ms", "input_digest", "output",
                                           "request_id", "at")}
        row["answer"] = answer_of(p.outputs, p.class_names)
        row["confidence"] = confidence_of(p.outputs)
        row["input"], row["payload_key"] = None, None
        row["features"], row["vector"] = self._features(p)
        if p.mode == "none":
            row["output"] = ""
        elif p.mode == "summary":
            row["input"] = json.dumps(summarise(p.inputs))
        elif p.inputs is not None or p.outputs is not None:
            row["input"], row["output"], row["payload_key"] = self._full(p)
        return row

    @staticmethod
    def _features(p: Prediction) -> tuple[str | None, bytes | None]:
        """The input's drift features; the pixel vector only in ``full`` mode."""
        if p.mode == "none" or p.status >= 400:
            return None, None
        x = p.model_input if p.model_input is not None else p.inputs
        try:
            found = profiles.features(x, p.vocabulary)
        except Exception:  # a feature the input cannot give is no reason to lose the row
            log.debug("no drift features for %s", p.request_id, exc_info=True)
            return None, None
        if found is None:
            return None, None
        vector = found.vector.astype(np.float32).tobytes() if (
            found.vector is not None and p.mode == "full") else None
        return json.dumps({k: round(v, 6) for k, v in found.scalars.items()}), vector

    def _full(self, p: Prediction) -> tuple[str, str, str | None]:
        payload = {"input": to_json(p.inputs), "output": to_json(p.outputs)}
        raw = p.inputs if isinstance(p.inputs, bytes | bytearray) else None
        text = None if raw is not None else _dumps(payload)
        if raw is None and text is not None and len(text) <= self.max_payload_bytes:
            return _dumps(payload["input"]) or "null", _dumps(payload["output"]) or "", None
        if self.storage is None:  # nowhere to put it: keep the summary
            return json.dumps(summarise(p.inputs)), p.output, None
        day = dt.datetime.fromtimestamp(p.at, dt.UTC).strftime("%Y-%m-%d")
        base = f"monitoring/payloads/{p.endpoint}/{day}/{p.request_id}-{p.role}"
        key = f"{base}.bin" if raw is not None else f"{base}.json"
        try:
            self.storage.write_bytes(key, bytes(raw) if raw is not None else
                                     (text or "").encode())
        except Exception:  # storage down: the row keeps the summary rather than wait
            log.exception("could not store the payload of %s; keeping its summary", key)
            return json.dumps(summarise(p.inputs)), p.output, None
        output = _dumps(payload["output"]) or ""
        if len(output) > self.max_payload_bytes:
            output = p.output
        return json.dumps({**summarise(p.inputs), "stored": key}), output, key



def insert_rows(conn: Connection, values: list[dict[str, Any]]) -> None:
    """The rows and their rollups, in the caller's transaction: both or neither."""
    conn.execute(insert(PredictionRow.__table__), values)  # type: ignore[arg-type]
    rollups.Rollup().add_rows(values).write(conn)


def write_now(db: Database, predictions: list[Prediction], *, storage: Storage | None = None,
              max_payload_bytes: int = 64 * 1024, chunk: int = 5000) -> int:
    """Write ``predictions`` synchronously (a batch job's answers), skipping request ids the
    log already holds for the same endpoint and role, so a re-run logs nothing twice; returns
    how many rows were written."""
    rows = Rows(storage, max_payload_bytes)
    c = PredictionRow.__table__.c
    written = 0
    for start in range(0, len(predictions), chunk):
        part = predictions[start:start + chunk]
        with db.engine.begin() as conn:
            seen: set[tuple[str, str, str]] = set()
            ids = list({p.request_id for p in part})
            for i in range(0, len(ids), 500):
                seen.update(tuple(r) for r in conn.execute(  # type: ignore[misc]
                    select(c.request_id, c.endpoint, c.role).where(
                        c.request_id.in_(ids[i:i + 500]))))
            fresh = []
            for p in part:
                key = (p.request_id, p.endpoint, p.role)
                if key not in seen:
                    seen.add(key)
                    fresh.append(rows.row(p))
            if fresh:
                insert_rows(conn, fresh)
            written += len(fresh)
    return written


def recent(db: Database, endpoint: str | None = None, limit: int = 100,
           since: float | None = None) -> list[dict[str, Any]]:
    """The newest logged rows first, as dicts (a read; no writer needed)."""
    q = select(PredictionRow.__table__).order_by(PredictionRow.id.desc()).limit(limit)
    if endpoint:
        q = q.where(PredictionRow.endpoint == endpoint)
    if since is not None:
        q = q.where(PredictionRow.at >= since)
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]  # noqa: SLF001


def digest(inputs: Any) -> str:
    """A short content hash of an input (equal inputs, equal digests)."""
    if isinstance(inputs, np.ndarray):
        data = inputs.tobytes()
    elif isinstance(inputs, bytes | bytearray):
        data = bytes(inputs)
    else:
        data = repr(inputs).encode()
    return hashlib.sha256(data).hexdigest()[:32]


def summary_text(outputs: dict[str, Any]) -> str:
    """The first ten values of each output, as JSON (what ``summary`` mode keeps)."""
    return json.dumps({k: np.asarray(v).reshape(-1)[:10].tolist() for k, v in outputs.items()},
                      default=str)[:2000]


def to_json(value: Any) -> Any:
    """``value`` as JSON-able data: arrays become lists, bytes a note of their size."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if hasattr(value, "to_dict"):  # a DataFrame
        return to_json(value.to_dict(orient="list"))
    return repr(value)[:2000]


def summarise(value: Any) -> dict[str, Any]:
    """Feature summaries of an input, with no content: type, size, shape, moments."""
    if value is None:
        return {"type": "none"}
    if isinstance(value, bytes | bytearray):
        return {"type": "bytes", "bytes": len(value)}
    if isinstance(value, str):
        return {"type": "text", "chars": len(value), "words": len(value.split())}
    array = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    out: dict[str, Any] = {"type": "array", "shape": list(array.shape)}
    if array.dtype.kind in "biuf" and array.size:
        numbers = array.astype(float)
        out.update(mean=float(numbers.mean()), std=float(numbers.std()),
                   min=float(numbers.min()), max=float(numbers.max()))
    elif array.size:
        lengths = [len(str(v)) for v in array.reshape(-1)[:10_000]]
        out.update(mean_chars=float(np.mean(lengths)))
    return out


def answer_of(outputs: Any, class_names: tuple[str, ...] | None = None) -> str | None:
    """The answer as text: the first value of the ``predict`` output (or of the first), by
    its class name when the model answers class indexes."""
    if not isinstance(outputs, dict) or not outputs:
        return None
    first = outputs.get("predict", next(iter(outputs.values())))
    flat = np.asarray(first, dtype=object).reshape(-1)
    if not flat.size:
        return None
    value = flat[0]
    if class_names and isinstance(value, int | np.integer) and 0 <= int(value) < len(class_names):
        return class_names[int(value)]
    return str(value)[:500]


def confidence_of(outputs: Any) -> float | None:
    """The highest class probability of the first row, when the answer has probabilities."""
    name = "probabilities" if isinstance(outputs, dict) and "probabilities" in outputs \
        else "top_probabilities"
    if not isinstance(outputs, dict) or name not in outputs:
        return None
    try:
        probs = np.asarray(outputs[name], dtype=float)
        first = probs.reshape(len(probs), -1)[0] if probs.ndim > 1 else probs
        return float(first.max()) if first.size else None
    except (TypeError, ValueError):
        return None


def _dumps(value: Any) -> str | None:
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return None
