"""``gazer predictions export``: the prediction log as Parquet, partitioned by endpoint and day.

Files land in gazer's storage at ``curated/monitoring/predictions/endpoint=E/date=D/part.parquet``,
one per endpoint and day, holding every logged answer of that day with its feedback, so an
export run again (or over a longer window) replaces whole days and never duplicates a row.
``gazer query`` reads them as ``monitoring.predictions``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from typing import Any

import pandas as pd
from sqlalchemy import text

from gazer.db import Database
from gazer.sql import Table
from gazer.storage.protocol import Storage

PREFIX = "curated/monitoring"
COLUMNS = ("at", "model", "version", "role", "status", "latency_ms", "request_id", "answer",
           "input", "output", "payload_key", "input_digest")


@dataclasses.dataclass(frozen=True)
class Exported:
    rows: int
    days: list[str]
    url: str


def export_predictions(db: Database, storage: Storage, endpoint: str, since: float,
                       until: float | None = None) -> Exported:
    """Write the days from ``since`` to ``until`` (whole UTC days) for ``endpoint``."""
    start = dt.datetime.fromtimestamp(since, dt.UTC).replace(hour=0, minute=0, second=0,
                                                             microsecond=0).timestamp()
    end = until if until is not None else dt.datetime.now(dt.UTC).timestamp() + 1
    cols = ", ".join(f"p.{c}" for c in COLUMNS)
    sql = text(f"SELECT {cols}, f.label AS feedback_label, f.rating AS feedback_rating, "  # nosec B608 # column names are the constant COLUMNS
               f"f.correct AS feedback_correct FROM gazer_predictions p LEFT JOIN "
               f"gazer_feedback f ON f.request_id = p.request_id WHERE p.endpoint = :e "
               f"AND p.at >= :s AND p.at < :u ORDER BY p.id")
    with db.engine.connect() as conn:
        frame = pd.read_sql(sql, conn, params={"e": endpoint, "s": start, "u": end})
    base = f"{PREFIX}/predictions/endpoint={_safe(endpoint)}"
    if frame.empty:
        return Exported(0, [], storage.url(base))
    frame["date"] = pd.to_datetime(frame["at"], unit="s", utc=True).dt.strftime("%Y-%m-%d")
    days = []
    for day, part in frame.groupby("date", sort=True):
        buf = io.BytesIO()
        part.drop(columns="date").to_parquet(buf, index=False)
        storage.write_bytes(f"{base}/date={day}/part.parquet", buf.getvalue())
        days.append(str(day))
    return Exported(len(frame), days, storage.url(base))


def query_tables(storage: Storage) -> list[Table]:
    """What has been exported, as ``monitoring.<table>`` for the SQL sandbox."""
    names = {key.split("/")[2] for key in storage.list(PREFIX + "/")
             if key.endswith(".parquet") and key.count("/") >= 3}
    return [Table(f"monitoring.{_safe(n)}", f"{PREFIX}/{n}") for n in sorted(names)]


def _safe(name: Any) -> str:
    return re.sub(r"\W", "_", str(name))
