"""The papers app's evaluation set, and retrieval and abstention figures over it.

``data/evalset.jsonl`` holds questions on the evaluation papers (``corpus.PAPERS``), each with
a gold answer: a verbatim span of the paper and its page, or ``null`` for a question the
paper does not answer. A passage *is* the gold answer when it holds most of the span (spans
may straddle two passages).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

import numpy as np

from gazer.apps.papers.library import Library, Score, resolve
from gazer.apps.papers.passages import Passage

METHODS = ("bm25", "cosine", "hybrid", "reranked")


def load_evalset() -> list[dict[str, Any]]:
    text = resources.files("gazer.apps.papers").joinpath("data/evalset.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def split_of(question: dict[str, Any], test: float = 0.4) -> str:
    """``train`` or ``test``, from a hash of the question: stable across runs."""
    bucket = int(hashlib.sha256(question["question"].encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if bucket < test else "train"


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def is_gold(passage: str, answer: str, share: float = 0.6) -> bool:
    """Whether ``passage`` holds at least ``share`` of the gold span, contiguously."""
    want, have = _tokens(answer), _tokens(passage)
    if not want:
        return False
    match = difflib.SequenceMatcher(None, have, want, autojunk=False).find_longest_match(
        0, len(have), 0, len(want))
    return match.size >= max(1, min(len(want), round(share * len(want))))


def first_gold(ranked: Sequence[Passage], answer: str) -> int | None:
    """The 1-based rank of the first gold passage, or ``None``."""
    for rank, passage in enumerate(ranked, start=1):
        if is_gold(passage.text, answer):
            return rank
    return None


def retrieval_metrics(ranks: Iterable[int | None]) -> dict[str, float]:
    ranks = list(ranks)
    n = max(len(ranks), 1)
    return {"recall_at_1": sum(1 for r in ranks if r == 1) / n,
            "recall_at_5": sum(1 for r in ranks if r is not None and r <= 5) / n,
            "mrr": sum(1 / r for r in ranks if r is not None) / n}


def evaluate(library: Library, questions: Sequence[dict[str, Any]], ids: dict[str, str],
             score: Score | None) -> dict[str, float]:
    """recall@1, recall@5 and MRR per method, and abstention, over ``questions``
    (``ids`` maps the evaluation set's paper names to indexed paper ids)."""
    ranks: dict[str, list[int | None]] = {m: [] for m in METHODS}
    abstained, answered = [], []
    for q in questions:
        pid = ids[q["paper"]]
        result = library.ask(q["question"], paper_id=pid, top_k=10, score=score,
                             history=[q["follows"]] if q.get("follows") else ())
        if q["answer"] is None:
            abstained.append(not result.answerable)
            continue
        answered.append(result.answerable)
        for method in ("bm25", "cosine", "hybrid"):
            ranks[method].append(first_gold(library.index.rank(result.resolved, method, pid),
                                            q["answer"]))
        ranks["reranked"].append(first_gold(_reranked(library, result.resolved, pid, score),
                                            q["answer"]))
    out: dict[str, float] = {}
    for method, values in ranks.items():
        out.update({f"{method}.{k}": v for k, v in retrieval_metrics(values).items()})
    out["abstention.unanswerable"] = float(np.mean(abstained)) if abstained else 0.0
    out["abstention.answerable_answered"] = float(np.mean(answered)) if answered else 0.0
    out["questions"] = float(len(answered))
    out["unanswerable_questions"] = float(len(abstained))
    return out


def _reranked(library: Library, question: str, pid: str, score: Score | None) -> list[Passage]:
    candidates = library.index.candidates(question, pid)
    if not candidates or score is None:
        return [c.passage for c in candidates]
    probabilities, _ = score(np.stack([c.features for c in candidates]))
    order = np.argsort(-probabilities, kind="stable")
    return [candidates[i].passage for i in order]


def training_rows(library: Library, questions: Sequence[dict[str, Any]], ids: dict[str, str]
                  ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, bool]]]:
    """Features and labels of every candidate of every question, and each question's
    ``(first row, end row, answerable)`` span (for fitting the threshold)."""
    library.refresh()
    xs: list[np.ndarray] = []
    ys: list[int] = []
    spans: list[tuple[int, int, bool]] = []
    for q in questions:
        history = [q["follows"]] if q.get("follows") else ()
        candidates = library.index.candidates(resolve(q["question"], history), ids[q["paper"]])
        first = len(ys)
        for c in candidates:
            xs.append(c.features)
            ys.append(int(q["answer"] is not None and is_gold(c.passage.text, q["answer"])))
        spans.append((first, len(ys), q["answer"] is not None))
    width = len(xs[0]) if xs else 0
    return (np.stack(xs) if xs else np.zeros((0, width)), np.asarray(ys, dtype=np.int64),
            spans)


def feedback_rows(db: Any, limit: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Rated answers as training rows: 4-5 or "this answered it" positive, 1-2 or "it did
    not" negative (3 says neither). Features are the ones the reranker saw."""
    from sqlalchemy import select

    from gazer.db import FeedbackRow, PaperTurnRow

    with db.session() as s:
        rated = {r.request_id: r for r in s.scalars(select(FeedbackRow).where(
            FeedbackRow.endpoint == FEEDBACK_ENDPOINT).limit(limit))}
        turns = list(s.scalars(select(PaperTurnRow).order_by(PaperTurnRow.id.desc())
                               .limit(limit)))
        xs, ys = [], []
        for turn in turns:
            for answer in json.loads(turn.answers):
                row = rated.get(answer.get("request_id"))
                label = None if row is None else _label(row.rating, row.correct)
                if label is not None and answer.get("features"):
                    xs.append(np.asarray(answer["features"], dtype=np.float64))
                    ys.append(label)
    width = len(xs[0]) if xs else 0
    return (np.stack(xs) if xs else np.zeros((0, width)), np.asarray(ys, dtype=np.int64))


def _label(rating: int | None, correct: bool | None) -> int | None:
    if correct is not None:
        return int(correct)
    if rating is None or rating == 3:
        return None
    return int(rating >= 4)


FEEDBACK_ENDPOINT = "papers.answers"
