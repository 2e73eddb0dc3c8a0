"""``Library``: questions over the indexed papers, follow-ups in a chat, and summaries.

An answer is a passage of the paper, never generated text: retrieval proposes candidates,
the reranker (a registered model, called through ``score``) orders them, and a question whose
best candidate scores under the reranker's threshold is not answerable. Without a trained
reranker the fused retrieval rank orders them and a fixed rule on the features decides.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gazer.apps.papers.retrieval import FEATURES, Candidate, Index, highlights, terms
from gazer.apps.papers.store import Paper, PaperStore
from gazer.apps.papers.text import Document

# P(answers) for each candidate row, and the cut under which none answers
Score = Callable[[np.ndarray], tuple[np.ndarray, float]]
FOLLOW_UP = re.compile(r"^(and|but|also|what about|how about|so)\b|\b(it|its|this|that|they|"
                       r"them|their|these|those|he|she|the same|one)\b", re.IGNORECASE)
# without a reranker: answerable when the best passage is this close and covers this much
FALLBACK_COSINE = 0.45
FALLBACK_COVERAGE = 0.5


@dataclasses.dataclass
class Answer:
    """One ranked passage answering a question."""

    text: str
    page: int
    section: str
    score: float
    highlights: list[list[int]]
    paper_id: str
    passage: int
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Result:
    question: str
    resolved: str
    answers: list[Answer]
    answerable: bool
    reranked: bool
    ranked: list[Candidate]  # every candidate, best first, with the features it was given


def fallback_score(features: np.ndarray) -> tuple[np.ndarray, float]:
    """Fused rank as the score when no reranker is trained; a fixed rule for answerable."""
    cosine = features[:, FEATURES.index("cosine")]
    coverage = features[:, FEATURES.index("coverage")]
    rrf = features[:, FEATURES.index("rrf")]
    ok = (cosine >= FALLBACK_COSINE) | (coverage >= FALLBACK_COVERAGE) & (cosine >= 0.3)
    return np.where(ok, 0.5 + rrf / 4, rrf / 4), 0.5


def resolve(question: str, history: Sequence[str]) -> str:
    """A follow-up question with the earlier turn's subject added: "and what is its
    default?" after "Which kernel does kernHAC use?" searches for both."""
    if not history:
        return question
    own = terms(question)
    if not FOLLOW_UP.search(question) and len(own) >= 3:
        return question
    previous = history[-1]
    extra = [t for t in re.findall(r"[\w.\"'-]+", previous)
             if terms(t) and terms(t)[0] not in own]
    return f"{question} ({' '.join(extra)})" if extra else question


class Library:
    """Every indexed paper's passages, searchable as one index."""

    def __init__(self, store: PaperStore) -> None:
        self.store = store
        self.index = Index(store.embed)
        self._ids: tuple[str, ...] = ()
        self.titles: dict[str, str] = {}  # paper id -> title, as of the last refresh
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Reload the index when papers were added or deleted (by this or another process)."""
        papers = self.store.papers()
        ids = tuple(sorted(p.id for p in papers))
        if ids == self._ids:
            return
        with self._lock:
            if ids != self._ids:
                self.index.set([(self.store.passages(p), self.store.vectors(p)) for p in papers])
                self.titles = {p.id: p.title for p in papers}
                self._ids = ids

    def ask(self, question: str, *, paper_id: str | None = None, top_k: int = 3,
            score: Score | None = None, history: Sequence[str] = ()) -> Result:
        """The best ``top_k`` passages for ``question`` (in one paper, or in all)."""
        self.refresh()
        resolved = resolve(question, history)
        candidates = self.index.candidates(resolved, paper_id)
        if not candidates:
            return Result(question, resolved, [], False, score is not None, [])
        features = np.stack([c.features for c in candidates])
        probabilities, threshold = (score or fallback_score)(features)
        for c, p in zip(candidates, probabilities, strict=True):
            c.score = float(p)
        ranked = sorted(candidates, key=lambda c: -c.score)
        answerable = ranked[0].score >= threshold
        answers = [self._answer(c, question + " " + resolved) for c in ranked[:top_k]
                   if c.score >= threshold] if answerable else []
        return Result(question, resolved, answers, answerable, score is not None, ranked)

    @staticmethod
    def _answer(candidate: Candidate, question: str) -> Answer:
        p = candidate.passage
        return Answer(p.text, p.page, p.section, round(candidate.score, 4),
                      highlights(p.text, question), p.paper, p.index, p.start, p.end)

    def context(self, paper: Paper, passage: int, around: int = 600) -> dict[str, Any]:
        """The passage inside the paper's text, with what comes before and after it."""
        passages = self.store.passages(paper)
        if not 0 <= passage < len(passages):
            from gazer.errors import NotFound

            raise NotFound(f"paper {paper.id} has passages 0 to {len(passages) - 1}; "
                           f"got {passage}")
        document = self.store.document(paper.id)
        p = passages[passage]
        return {"before": document.text[max(0, p.start - around):p.start],
                "passage": document.text[p.start:p.end],
                "after": document.text[p.end:p.end + around], "page": p.page,
                "section": p.section}


def summarise(document: Document, summarize: Callable[[str, int], list[str]]) -> dict[str, Any]:
    """Whole-paper and per-section extractive summaries; ``summarize(text, k)`` returns the
    chosen sentences (the summarizer app's registered model does the choosing)."""
    body = "\n".join(document.section_text(s) for s in document.sections
                     if s.title != "Front matter")
    sections = []
    for section in document.sections:
        text = document.section_text(section)
        lines = text.split("\n", 1)
        content = lines[1].strip() if len(lines) > 1 else ""
        if len(content.split()) < 30:
            continue
        sections.append({"title": section.title, "page": document.page_of(section.start),
                         "sentences": summarize(content, 2 if len(content.split()) < 400
                                                else 3)})
    paper = summarize(body, min(10, max(3, len(body.split()) // 600))) if body else []
    return {"title": document.title, "paper": paper, "sections": sections}
