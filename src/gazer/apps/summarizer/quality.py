"""Summary quality without reference summaries: coverage and redundancy against baselines.

- coverage: cosine similarity between the document's mean sentence embedding and the
  summary's (higher: the summary carries more of the document);
- redundancy: mean pairwise cosine similarity of the chosen sentences (lower: less repetition).
Baselines with the same number of sentences: the first k (lead-k) and k at random.
"""

from __future__ import annotations

import numpy as np

from gazer.apps.summarizer.model import ClusterSummarizer, split_sentences


def _coverage(vectors: np.ndarray, chosen: list[int]) -> float:
    doc, summary = vectors.mean(axis=0), vectors[chosen].mean(axis=0)
    return float(doc @ summary / (np.linalg.norm(doc) * np.linalg.norm(summary) + 1e-12))


def _redundancy(vectors: np.ndarray, chosen: list[int]) -> float:
    if len(chosen) < 2:
        return 0.0
    sub = vectors[chosen]
    sims = sub @ sub.T
    upper = sims[np.triu_indices(len(chosen), k=1)]
    return float(upper.mean())


def compare(model: ClusterSummarizer, texts: list[str], seed: int = 0) -> dict[str, float]:
    """Mean coverage and redundancy of the model, lead-k and random-k over ``texts``."""
    rng = np.random.default_rng(seed)
    scores: dict[str, list[float]] = {}
    for text in texts:
        sentences = split_sentences(text)
        if len(sentences) <= 2:
            continue
        chosen = model.summarize(text).indexes
        vectors = model.embed(sentences)
        k = len(chosen)
        picks = {"cluster": chosen, "lead": list(range(k)),
                 "random": sorted(rng.choice(len(sentences), size=k, replace=False).tolist())}
        for name, idx in picks.items():
            scores.setdefault(f"{name}.coverage", []).append(_coverage(vectors, idx))
            scores.setdefault(f"{name}.redundancy", []).append(_redundancy(vectors, idx))
    return {k: float(np.mean(v)) for k, v in scores.items()}
