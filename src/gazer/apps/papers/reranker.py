"""``PassageReranker``: the probability that a retrieved passage answers the question.

A logistic regression over the retrieval features (``retrieval.FEATURES``: BM25 and cosine
scores and ranks, query-term and bigram coverage, length, section), trained on the app's
evaluation questions (the gold passage is positive, the other candidates negative) and on
users' ratings (4-5 or "this answered it": positive; 1-2 or "it did not": negative). It is a
registered, versioned model like any other: served, logged, A/B-tested and retrained.

``threshold`` is the probability under which the best passage is not an answer: a question
whose best candidate scores below it is ``answerable: false``. It is fitted on the training
questions, answerable and not, to maximise balanced accuracy.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from gazer.apps.papers.retrieval import FEATURES
from gazer.errors import InvalidInput


@dataclasses.dataclass(frozen=True)
class RerankerConfig:
    c: float = 1.0  # inverse regularisation strength
    positive_weight: float = 5.0  # one gold passage against ~29 other candidates
    seed: int = 0


class PassageReranker:
    """Scores (n_candidates, n_features) rows; ``predict`` is P(answers the question)."""

    output_names = ("predict", "relevant")
    feature_names = FEATURES

    def __init__(self, config: RerankerConfig | None = None) -> None:
        self.config = config or RerankerConfig()
        self.model: Any = None
        self.threshold = 0.5

    def fit(self, x: np.ndarray, y: np.ndarray) -> PassageReranker:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if len(set(y.tolist())) < 2:
            raise InvalidInput("the reranker needs both answering and non-answering passages "
                               f"to learn from; got {len(y)} rows of one class")
        weights = np.where(y == 1, self.config.positive_weight, 1.0)
        self.model = make_pipeline(StandardScaler(), LogisticRegression(
            C=self.config.c, max_iter=1000, random_state=self.config.seed))
        self.model.fit(x, y, logisticregression__sample_weight=weights)
        return self

    def fit_threshold(self, best: np.ndarray, answerable: np.ndarray) -> float:
        """The cut on each question's best probability that best separates answerable
        questions from the rest (balanced accuracy)."""
        if answerable.all() or not answerable.any():
            self.threshold = float(np.quantile(best, 0.05)) if answerable.all() else 1.0
            return self.threshold
        best_t, best_acc = 0.5, -1.0
        for t in np.unique(best):
            acc = (np.mean(best[answerable] >= t) + np.mean(best[~answerable] < t)) / 2
            if acc > best_acc:
                best_t, best_acc = float(t), float(acc)
        self.threshold = best_t
        return best_t

    def score(self, x: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise InvalidInput("the reranker is not trained: run `gazer run papers`")
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(FEATURES):
            raise InvalidInput(f"the reranker takes rows of {len(FEATURES)} features "
                               f"({', '.join(FEATURES)}); got shape {x.shape}")
        return self.model.predict_proba(x)[:, 1]

    def predict(self, x: Any) -> np.ndarray:
        return self.score(x)

    def predict_outputs(self, x: Any, wanted: set[str]) -> dict[str, np.ndarray]:
        scores = self.score(x)
        out: dict[str, np.ndarray] = {}
        if "predict" in wanted:
            out["predict"] = scores
        if "relevant" in wanted:
            out["relevant"] = scores >= self.threshold
        return out
