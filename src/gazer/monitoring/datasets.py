"""Labelled feedback as a versioned dataset a training pipeline takes as an input.

``feedback_dataset(db, storage, "characters@7d")`` gathers every answer of the endpoint in
the window whose feedback names the right label (``label``, or ``correct: true`` on the
answer itself), with its input: the logged JSON, or the stored payload (an uploaded image's
bytes). The rows are content-hashed like every dataset; the hash is the version, and the
Parquet lands once at ``curated/feedback/ENDPOINT/HASH.parquet``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import time

import pandas as pd
from sqlalchemy import text

from gazer.db import Database
from gazer.errors import InvalidInput
from gazer.storage.protocol import Storage

PREFIX = "curated/feedback"


@dataclasses.dataclass(frozen=True)
class FeedbackDataset:
    endpoint: str
    frame: pd.DataFrame  # request_id, at, version, answer, label, input, payload
    version: str  # the content hash
    key: str  # where the Parquet is in storage

    def __len__(self) -> int:
        return len(self.frame)


def parse_spec(spec: str) -> tuple[str, float]:
    """``ENDPOINT``, ``ENDPOINT@7d``, ``ENDPOINT@12h`` or ``ENDPOINT@2026-11-01``."""
    endpoint, _, window = spec.partition("@")
    if not endpoint:
        raise InvalidInput(f"feedback must look like ENDPOINT@7d (or @12h, @2026-11-01, or "
                           f"no @ for all of it); got {spec!r}")
    return endpoint, parse_since(window) if window else 0.0


def parse_since(window: str) -> float:
    """``7d``, ``12h``, ``2026-11-01`` or ``2026-11-01T12:00`` (UTC) → a timestamp."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([dh])", window.strip())
    if match:
        return time.time() - float(match[1]) * (86400 if match[2] == "d" else 3600)
    try:
        return float(pd.Timestamp(window, tz="UTC").timestamp())
    except ValueError:
        raise InvalidInput(f"the window must be like 7d, 12h or 2026-11-01; got "
                           f"{window!r}") from None


def feedback_dataset(db: Database, storage: Storage, spec: str) -> FeedbackDataset:
    """The labelled examples of ``spec``, stored once under their content hash."""
    endpoint, since = parse_spec(spec)
    sql = text("SELECT p.request_id, p.at, p.version, p.answer, f.label, f.correct, p.input, "
               "p.payload_key FROM gazer_feedback f JOIN gazer_predictions p ON "
               "p.request_id = f.request_id WHERE p.endpoint = :e AND p.at >= :s AND "
               "p.role != 'shadow' AND p.status < 400 AND (f.label IS NOT NULL OR "
               "f.correct) ORDER BY p.at, p.id")
    with db.engine.connect() as conn:
        rows = conn.execute(sql, {"e": endpoint, "s": since}).fetchall()
    records = []
    digest = hashlib.sha256()
    for rid, at, version, answer, label, _correct, inputs, payload_key in rows:
        label = label if label is not None else answer
        payload = storage.read_bytes(payload_key) \
            if payload_key and payload_key.endswith(".bin") else None
        records.append({"request_id": rid, "at": at, "version": version, "answer": answer,
                        "label": label, "input": inputs, "payload": payload})
        digest.update(f"{rid}\0{label}\0{inputs}\0".encode())
        digest.update(payload or b"")
    frame = pd.DataFrame(records, columns=["request_id", "at", "version", "answer", "label",
                                           "input", "payload"])
    version = digest.hexdigest()[:16]
    folder = re.sub(r"\W", "_", endpoint)
    key = f"{PREFIX}/{folder}/{version}.parquet"
    if len(frame) and not storage.exists(key):
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        storage.write_bytes(key, buf.getvalue())
    return FeedbackDataset(endpoint, frame, version, key)
