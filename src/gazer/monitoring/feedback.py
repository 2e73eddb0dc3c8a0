"""Feedback on logged predictions: the latest word per request, and every word before it.

Written synchronously: when ``give`` returns, the feedback is stored. A second feedback on
the same request updates ``gazer_feedback`` and adds to ``gazer_feedback_history``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from sqlalchemy import select

from gazer.db import Database, FeedbackHistoryRow, FeedbackRow, PredictionRow

FIELDS = ("label", "rating", "correct", "comment")


@dataclasses.dataclass
class Feedback:
    """The stored feedback on one request, with its earlier versions (oldest first)."""

    request_id: str
    endpoint: str
    label: str | None
    rating: int | None
    correct: bool | None
    comment: str | None
    at: float
    revisions: int
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)


class FeedbackStore:
    """Feedback rows in gazer's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def predictions(self, request_id: str) -> list[dict[str, Any]]:
        """The logged rows of one request (the live answer, and a shadow's if any)."""
        q = select(PredictionRow).where(PredictionRow.request_id == request_id) \
            .order_by(PredictionRow.id)
        with self.db.session() as s:
            return [{c: getattr(r, c) for c in ("endpoint", "model", "version", "role",
                                               "status", "answer", "output", "at")}
                    for r in s.scalars(q)]

    def give(self, request_id: str, endpoint: str, *, label: str | None = None,
             rating: int | None = None, correct: bool | None = None,
             comment: str | None = None) -> Feedback:
        """Store feedback on ``request_id`` (a second call updates it, history kept)."""
        now = time.time()
        values = {"label": label, "rating": rating, "correct": correct, "comment": comment}
        with self.db.session() as s:
            row = s.scalars(select(FeedbackRow).where(FeedbackRow.request_id == request_id)
                            ).first()
            if row is None:
                row = FeedbackRow(request_id=request_id, endpoint=endpoint, at=now, revisions=1,
                                  **values)
                s.add(row)
            else:
                for k, v in values.items():
                    setattr(row, k, v)
                row.at, row.revisions = now, row.revisions + 1
            s.add(FeedbackHistoryRow(request_id=request_id, at=now, **values))
        found = self.get(request_id)
        assert found is not None
        return found

    def get(self, request_id: str) -> Feedback | None:
        with self.db.session() as s:
            row = s.scalars(select(FeedbackRow).where(FeedbackRow.request_id == request_id)
                            ).first()
            if row is None:
                return None
            history = [{"at": h.at, **{f: getattr(h, f) for f in FIELDS}} for h in s.scalars(
                select(FeedbackHistoryRow).where(FeedbackHistoryRow.request_id == request_id)
                .order_by(FeedbackHistoryRow.id))]
            return Feedback(row.request_id, row.endpoint, row.label, row.rating, row.correct,
                            row.comment, row.at, row.revisions, history)
