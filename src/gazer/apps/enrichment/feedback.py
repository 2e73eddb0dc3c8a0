"""The workflows' answers in the prediction log, so a reader of a query result can mark a row
"wrong topic" or "wrong sentiment" with ``POST /v2/feedback``.

Each written row gets ``topic_request_id`` (one per message and topic: "this message is about
that topic") and each message ``sentiment_request_id``, content-derived so that re-running a
workflow on the same data gives the same ids (and the log skips what it holds). They are logged
under the endpoints ``enrichment.<table>.topic`` and ``enrichment.<table>.sentiment`` with the
role ``batch``; the output keeps ``choices``, the labels a correction may name.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pandas as pd

from gazer.monitoring.predictions import Prediction

SENTIMENTS = ("positive", "neutral", "negative")
ROLE = "batch"
CHOICES_ATTR = "topics_choices"  # set by classify_topics on the frame it returns


def _rid(kind: str, table: str, *parts: Any) -> str:
    data = "\0".join([table, *(str(p) for p in parts)]).encode()
    return f"{kind}-{hashlib.sha256(data).hexdigest()[:24]}"


def add_request_ids(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``topic_request_id`` per (message, topic) row and ``sentiment_request_id`` per
    message, where the frame has those answers."""
    out = frame.copy()
    if "topic" in out.columns:
        out["topic_request_id"] = [_rid("t", table, m, t)
                                   for m, t in zip(out["id"], out["topic"], strict=True)]
    if "sentiment" in out.columns:
        out["sentiment_request_id"] = [_rid("s", table, m, s)
                                       for m, s in zip(out["id"], out["sentiment"], strict=True)]
    return out


def answers(frame: pd.DataFrame, table: str, text: pd.Series, mode: str = "full",
            topic_choices: list[str] | None = None) -> list[Prediction]:
    """The predictions a written frame stands for: one per topic row, one per message's
    sentiment."""
    now = time.time()
    out: list[Prediction] = []

    def one(kind: str, rid: str, answer: str, body: str, choices: list[str] | None,
            extra: dict[str, Any]) -> Prediction:
        outputs: dict[str, Any] = {"predict": [answer], **extra}
        if choices:
            outputs["choices"] = choices
        return Prediction(endpoint=f"enrichment.{table}.{kind}", model=f"enrichment.{kind}",
                          version=None, role=ROLE, status=200, latency_ms=0.0,
                          input_digest="", output="", request_id=rid, at=now,
                          inputs=body, outputs=outputs, mode=mode)

    if "topic_request_id" in frame.columns:
        for rid, topic, body, score in zip(
                frame["topic_request_id"], frame["topic"], text, frame.get(
                    "topics_score", pd.Series(None, index=frame.index)), strict=True):
            out.append(one("topic", rid, str(topic), body,
                           [*topic_choices, "none"] if topic_choices else None,
                           {"score": None if pd.isna(score) else float(score)}))
    if "sentiment_request_id" in frame.columns:
        seen: set[str] = set()
        for rid, label, body, compound in zip(
                frame["sentiment_request_id"], frame["sentiment"], text,
                frame.get("sentiment_compound", pd.Series(None, index=frame.index)),
                strict=True):
            if rid not in seen:
                seen.add(rid)
                out.append(one("sentiment", rid, str(label), body, list(SENTIMENTS),
                               {"compound": None if pd.isna(compound) else float(compound)}))
    return out

