"""Hybrid retrieval over passages: BM25 (bm25s) and MiniLM embeddings, fused by reciprocal
rank, then described by features for the reranker.

One ``Index`` holds every indexed paper's passages (BM25 statistics over the whole library,
so scores compare across papers); a question can be limited to one paper. Passage vectors
are computed once, when a paper is indexed, and stored with it.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from gazer.apps.papers.passages import Passage

RRF_K = 60  # reciprocal-rank fusion's constant (Cormack et al. 2009)
CANDIDATES = 30  # passages each retriever hands to fusion, and fusion to the reranker
FEATURES = ("bm25", "bm25_share", "cosine", "cosine_gap", "rrf", "rank_bm25", "rank_cosine",
            "coverage", "bigrams", "length", "front", "cosine_top", "idf_coverage",
            "unknown_terms")
# scikit-learn's English stop words, and words every question about a paper has
_STOP = ENGLISH_STOP_WORDS | {"paper", "authors", "author", "use", "used", "using", "does",
                              "describe", "described", "say", "says", "according", "mean"}
TOKEN = re.compile(r"[a-z0-9]+(?:[.'-][a-z0-9]+)*")


def stem(word: str) -> str:
    """A light suffix stripper (BM25 and highlights match "estimators" to "estimator")."""
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[:-len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def terms(text: str) -> list[str]:
    """Content terms of ``text``: lower-cased, stop words dropped, stemmed."""
    return [stem(t) for t in TOKEN.findall(text.lower()) if t not in _STOP]


def highlights(text: str, question: str) -> list[list[int]]:
    """``[start, end]`` character spans of the words in ``text`` that match the question's."""
    wanted = set(terms(question))
    return [[m.start(), m.end()] for m in TOKEN.finditer(text.lower())
            if m.group() not in _STOP and stem(m.group()) in wanted]


@dataclasses.dataclass
class Candidate:
    """A passage a question retrieved, with its features (``FEATURES`` order)."""

    passage: Passage
    features: np.ndarray
    fused: float
    score: float = 0.0


Embed = Callable[[list[str]], np.ndarray]


class Index:
    """BM25 and embedding search over the passages of every indexed paper."""

    def __init__(self, embed: Embed) -> None:
        self.embed = embed
        self.passages: list[Passage] = []
        self.vectors = np.zeros((0, 384), dtype=np.float32)
        self._bm25: object = None
        self._by_paper: dict[str, np.ndarray] = {}
        self._terms: list[set[str]] = []  # each passage's terms
        self._paper_terms: dict[str, set[str]] = {}
        self._df: collections.Counter[str] = collections.Counter()

    def set(self, papers: Sequence[tuple[list[Passage], np.ndarray]]) -> None:
        """Replace the library's content with these papers' passages and vectors."""
        import bm25s

        self.passages = [p for passages, _ in papers for p in passages]
        width = next((v.shape[1] for _, v in papers if len(v)), 384)
        self.vectors = np.concatenate([v for _, v in papers if len(v)], axis=0) if any(
            len(v) for _, v in papers) else np.zeros((0, width), dtype=np.float32)
        names = np.asarray([p.paper for p in self.passages], dtype=object)
        self._by_paper = {name: np.flatnonzero(names == name) for name in set(names)}
        self._bm25 = None
        self._terms = [set(terms(p.text)) for p in self.passages]
        self._df = collections.Counter(t for ts in self._terms for t in ts)
        self._paper_terms = {}
        for p, ts in zip(self.passages, self._terms, strict=True):
            self._paper_terms.setdefault(p.paper, set()).update(ts)
        if self.passages:
            retriever = bm25s.BM25(k1=1.2, b=0.75)
            retriever.index([terms(p.text) or ["_"] for p in self.passages], show_progress=False)
            self._bm25 = retriever

    def papers(self) -> list[str]:
        return sorted(self._by_paper)

    def candidates(self, question: str, paper: str | None = None,
                   n: int = CANDIDATES) -> list[Candidate]:
        """The best ``n`` passages by fused rank, with their reranker features."""
        pool = self._by_paper.get(paper, np.zeros(0, dtype=np.int64)) if paper else \
            np.arange(len(self.passages))
        if len(pool) == 0 or self._bm25 is None:
            return []
        bm25 = self.bm25_scores(question)[pool]
        cosine = self.vectors[pool] @ self.embed([question])[0]
        rank_b = _ranks(bm25)
        rank_c = _ranks(cosine)
        fused = 1 / (RRF_K + rank_b) + 1 / (RRF_K + rank_c)
        keep = np.argsort(-fused, kind="stable")[:n]
        q_terms = terms(question)
        top_b, top_c = float(bm25.max()) or 1.0, float(cosine.max())
        known = self._paper_terms.get(paper, set()) if paper else set(self._df)
        unknown = sum(1 for t in set(q_terms) if t not in known) / max(len(set(q_terms)), 1)
        idf = {t: math.log((len(self.passages) + 1) / (self._df.get(t, 0) + 1)) + 1
               for t in set(q_terms)}
        out = []
        for i in keep:
            passage = self.passages[int(pool[i])]
            p_terms = terms(passage.text)
            have = self._terms[int(pool[i])]
            features = np.asarray([
                np.log1p(bm25[i]), bm25[i] / top_b, cosine[i], top_c - cosine[i], fused[i] * 30,
                1 / rank_b[i], 1 / rank_c[i], _coverage(q_terms, p_terms),
                _bigrams(q_terms, p_terms), len(passage.text.split()) / 120,
                float(passage.section.lower() in ("front matter", "abstract")), top_c,
                sum(w for t, w in idf.items() if t in have) / (sum(idf.values()) or 1.0),
                unknown,
            ], dtype=np.float64)
            out.append(Candidate(passage, features, float(fused[i])))
        return out

    def bm25_scores(self, question: str) -> np.ndarray:
        tokens = [t for t in terms(question) if t in self._bm25.vocab_dict]  # type: ignore[attr-defined]
        if not tokens:
            return np.zeros(len(self.passages))
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)  # type: ignore[attr-defined]

    def rank(self, question: str, method: str, paper: str | None = None) -> list[Passage]:
        """Passages in order by one retriever alone (``bm25``, ``cosine``) or fused
        (``hybrid``): the evaluation's baselines."""
        pool = self._by_paper.get(paper, np.zeros(0, dtype=np.int64)) if paper else \
            np.arange(len(self.passages))
        if len(pool) == 0:
            return []
        if method == "bm25":
            score = self.bm25_scores(question)[pool]
        elif method == "cosine":
            score = self.vectors[pool] @ self.embed([question])[0]
        else:
            return [c.passage for c in self.candidates(question, paper, len(pool))]
        return [self.passages[int(pool[i])] for i in np.argsort(-score, kind="stable")]


def _ranks(score: np.ndarray) -> np.ndarray:
    """1-based ranks, best first (ties keep document order)."""
    order = np.argsort(-score, kind="stable")
    ranks = np.empty(len(score), dtype=np.float64)
    ranks[order] = np.arange(1, len(score) + 1)
    return ranks


def _coverage(question: list[str], passage: list[str]) -> float:
    wanted = set(question)
    return len(wanted & set(passage)) / len(wanted) if wanted else 0.0


def _bigrams(question: list[str], passage: list[str]) -> float:
    wanted = set(zip(question, question[1:], strict=False))
    have = set(zip(passage, passage[1:], strict=False))
    return len(wanted & have) / len(wanted) if wanted else 0.0
