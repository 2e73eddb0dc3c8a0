"""The message frame every enrichment step takes and returns.

Columns: ``id``, ``source``, ``kind`` (post, article, review), ``text``, ``title``, ``lang``,
``url``, ``created_at`` (UTC), plus whatever a step adds. Generated ids hash the source,
time, text and position in the batch. Steps add columns and never drop a row silently: a
row a step cannot process is kept and flagged (a ``*_status`` column says why), and the only
step that removes rows (``clean_noise``'s duplicates) flags them and logs their ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from gazer.errors import InvalidInput

BASE = ("id", "source", "kind", "text", "title", "lang", "url", "created_at")
ALIASES = {"body": "text", "content": "text", "message": "text", "review": "text",
           "headline": "title", "link": "url", "language": "lang", "date": "created_at",
           "published_at": "created_at", "timestamp": "created_at", "channel": "source"}


def normalise(records: Iterable[Mapping[str, Any]] | pd.DataFrame, source: str = "unknown"
              ) -> pd.DataFrame:
    """A frame with the base columns, ids filled from a hash of the text, times in UTC."""
    frame = records.copy() if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    if frame.empty and "text" not in frame.columns:
        frame = pd.DataFrame(columns=list(BASE))
    for alias, target in ALIASES.items():
        if alias not in frame.columns:
            continue
        if target in frame.columns:  # both spellings in one batch: fill the gaps
            frame[target] = frame[target].where(frame[target].notna(), frame[alias])
            frame = frame.drop(columns=alias)
        else:
            frame = frame.rename(columns={alias: target})
    if "text" not in frame.columns:
        raise InvalidInput(f"messages need a text column (or body/content/message/review); "
                           f"got columns {', '.join(map(str, frame.columns)) or 'none'}")
    for column in BASE:
        if column not in frame.columns:
            frame[column] = None
    frame["text"] = frame["text"].fillna("").astype(str)
    frame["title"] = frame["title"].fillna("").astype(str)
    frame["source"] = frame["source"].fillna(source).astype(str)
    frame["kind"] = frame["kind"].fillna("post").astype(str)
    frame["url"] = frame["url"].fillna("").astype(str)
    missing = frame["id"].isna() | (frame["id"].astype(str) == "")
    frame.loc[missing, "id"] = [  # stable across re-reads of the same batch, unique within it
        hashlib.sha256(f"{s}|{c}|{t}|{i}".encode()).hexdigest()[:16]
        for i, s, c, t in zip(frame.index[missing], frame.loc[missing, "source"],
                              frame.loc[missing, "created_at"].astype(str),
                              frame.loc[missing, "text"], strict=True)]
    frame["id"] = frame["id"].astype(str)
    created = pd.to_datetime(frame["created_at"], utc=True, errors="coerce", format="mixed")
    frame["created_at"] = created.fillna(pd.Timestamp.now(tz="UTC").floor("s"))
    return frame.reset_index(drop=True)


def reconcile(before: pd.DataFrame, after: pd.DataFrame, step: str) -> None:
    """Every id that went in comes out (a step may add rows, never lose one)."""
    lost = set(before["id"]) - set(after["id"])
    if lost:
        raise RuntimeError(f"step {step} lost {len(lost)} of {len(before)} rows "
                           f"(ids {sorted(lost)[:5]}...)")
