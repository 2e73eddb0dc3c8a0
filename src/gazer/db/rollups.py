"""The prediction log's rollups: counts per minute and histograms per hour.

The log writer adds each batch of predictions to these tables in the same transaction as the
rows themselves, so the two never disagree. The readouts then read a week of one endpoint as
about 10,000 minute rows and a few thousand histogram buckets, however many predictions it
served, and read raw rows only for the part of the window before the first whole hour.

Additions are upserts that add to what is there (``INSERT ... ON CONFLICT DO UPDATE``, on
SQLite and PostgreSQL), so several serving processes can write the same minute at once.

- Latency buckets are 1% wide on a log scale: ``bucket = round(ln(ms) / ln(1.01))``, read back
  as ``1.01 ** bucket``, so a percentile read from them is within 0.5% of the exact one.
- Confidence buckets are 0.01 wide: ``bucket = round(confidence * 100)``.
- ``version`` 0 stands for none.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from gazer.db.tables import PredictionHistogramRow, PredictionMinuteRow, PredictionRow
from gazer.errors import InvalidInput

NO_VERSION = 0
LATENCY_BASE = math.log(1.01)
LATENCY_FLOOR_MS = 1e-3
MINUTES: Table = PredictionMinuteRow.__table__  # type: ignore[assignment]
HISTOGRAMS: Table = PredictionHistogramRow.__table__  # type: ignore[assignment]


def latency_bucket(ms: float) -> int:
    return round(math.log(max(ms, LATENCY_FLOOR_MS)) / LATENCY_BASE)


def latency_value(bucket: int) -> float:
    return math.exp(bucket * LATENCY_BASE)


def confidence_bucket(value: float) -> int:
    return round(value * 100)


def confidence_value(bucket: int) -> float:
    return bucket / 100


def stored_version(version: int | None) -> int:
    return NO_VERSION if version is None else int(version)


def read_version(version: int) -> int | None:
    return None if version == NO_VERSION else version


class Rollup:
    """Accumulates predictions, then adds them to the rollup tables in one go."""

    def __init__(self) -> None:
        # (endpoint, version, role, minute) -> [predictions, errors, latency sum, latency max]
        self.minutes: dict[tuple[str, int, str, int], list[float]] = {}
        # (endpoint, version, role, hour, metric, bucket) -> count
        self.buckets: dict[tuple[str, int, str, int, str, int], int] = defaultdict(int)

    def add(self, endpoint: str, version: int | None, role: str, at: float, status: int,
            latency_ms: float, confidence: float | None) -> None:
        version = stored_version(version)
        key = (endpoint, version, role, int(at // 60))
        figures = self.minutes.get(key)
        if figures is None:
            figures = self.minutes[key] = [0, 0, 0.0, latency_ms]
        figures[0] += 1
        figures[1] += status >= 400
        figures[2] += latency_ms
        figures[3] = max(figures[3], latency_ms)
        hour = int(at // 3600)
        self.buckets[(endpoint, version, role, hour, "latency", latency_bucket(latency_ms))] += 1
        if confidence is not None:
            self.buckets[(endpoint, version, role, hour, "confidence",
                          confidence_bucket(confidence))] += 1

    def add_rows(self, rows: Iterable[dict[str, Any]]) -> Rollup:
        for r in rows:
            self.add(r["endpoint"], r["version"], r["role"], r["at"], r["status"],
                     r["latency_ms"], r["confidence"])
        return self

    def write(self, conn: Connection) -> None:
        """Add what accumulated to the tables (inside the caller's transaction)."""
        if self.minutes:
            conn.execute(_upsert_minutes(conn), [
                {"endpoint": e, "version": v, "role": r, "minute": m, "predictions": int(n),
                 "errors": int(err), "latency_sum": total, "latency_max": top}
                for (e, v, r, m), (n, err, total, top) in self.minutes.items()])
        if self.buckets:
            conn.execute(_upsert_buckets(conn), [
                {"endpoint": e, "version": v, "role": r, "hour": h, "metric": metric,
                 "bucket": b, "count": n}
                for (e, v, r, h, metric, b), n in self.buckets.items()])


def _insert(conn: Connection, table: Any) -> Any:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise InvalidInput(f"gazer's database must be SQLite or PostgreSQL (the prediction "
                       f"rollups add with INSERT ... ON CONFLICT); got {dialect}")


def _upsert_minutes(conn: Connection) -> Any:
    stmt = _insert(conn, MINUTES)
    new, old = stmt.excluded, MINUTES.c
    larger = func.max if conn.dialect.name == "sqlite" else func.greatest
    return stmt.on_conflict_do_update(
        index_elements=["endpoint", "version", "role", "minute"],
        set_={"predictions": old.predictions + new.predictions,
              "errors": old.errors + new.errors,
              "latency_sum": old.latency_sum + new.latency_sum,
              "latency_max": larger(old.latency_max, new.latency_max)})


def _upsert_buckets(conn: Connection) -> Any:
    stmt = _insert(conn, HISTOGRAMS)
    return stmt.on_conflict_do_update(
        index_elements=["endpoint", "version", "role", "hour", "metric", "bucket"],
        set_={"count": HISTOGRAMS.c.count + stmt.excluded.count})


def rebuild(conn: Connection, batch: int = 50_000) -> int:
    """Recompute every rollup from the rows in ``gazer_predictions`` (for a database filled
    by other means, and for the migration that added them); returns how many rows it read."""
    conn.execute(delete(MINUTES))
    conn.execute(delete(HISTOGRAMS))
    c = PredictionRow.__table__.c
    query = select(c.id, c.endpoint, c.version, c.role, c.at, c.status, c.latency_ms,
                   c.confidence).order_by(c.id)
    seen, last = 0, -1
    while True:
        rows = conn.execute(query.where(c.id > last).limit(batch)).fetchall()
        if not rows:
            return seen
        rollup = Rollup()
        for _, endpoint, version, role, at, status, latency, confidence in rows:
            rollup.add(endpoint, version, role, at, status, latency, confidence)
        rollup.write(conn)
        seen += len(rows)
        last = rows[-1][0]


def prune(conn: Connection, before: float) -> None:
    """Forget the rollups of minutes and hours that ended before ``before``."""
    conn.execute(delete(MINUTES).where(MINUTES.c.minute < int(before // 60)))
    conn.execute(delete(HISTOGRAMS).where(HISTOGRAMS.c.hour < int(before // 3600)))
