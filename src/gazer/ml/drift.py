"""Drift tests: does a window of production inputs and outputs still look like a profile?

Each feature gets a test suited to its type, a p-value and an effect size:

- a number (an image's ink, a text's length, a tabular feature, the confidence): the
  two-sample Kolmogorov-Smirnov test; the effect is the KS distance D;
- the predicted class: a chi-square test of the reference's and the window's counts (two
  samples); the effect is the Jensen-Shannon distance (base 2, 0 to 1);
- images and texts as a whole: a domain classifier (logistic regression on the 8x8 pixel
  vectors, or on hashed word and character n-grams of the texts) trained to tell reference
  from window, with 5-fold cross-validated ROC AUC; the p-value is the Mann-Whitney normal
  approximation, the effect is ``2 * (AUC - 0.5)`` (0: indistinguishable, 1: fully separable).
  Texts need an effect of 0.5 (AUC 0.75), images 0.2: hashed n-grams tell apart texts on
  different topics of one source, which is not drift a model of that source cares about.

The p-values are corrected together (Holm), and a feature drifts only when its corrected
p-value is below ``alpha`` *and* its effect reaches the feature's minimum, so that a large
window does not flag a trivial difference. The verdict names the features that drove it.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Any

import numpy as np

from gazer.ml.profiles import Profile

# Text on another topic of the same source (other pages of the same manual) reaches a text
# domain classifier's AUC of 0.65-0.69 (effect 0.3-0.37); another manual, 0.98: texts need
# the larger effect before they count as drift.
MIN_EFFECT = {"number": 0.1, "category": 0.1, "domain": 0.2, "text": 0.5}
MIN_WINDOW = 30


@dataclasses.dataclass
class FeatureDrift:
    name: str
    test: str  # ks, chi2, domain-classifier
    kind: str  # number, category, domain
    p_value: float
    effect: float
    n_reference: int
    n_window: int
    adjusted_p: float = 1.0
    drifted: bool = False
    reference: dict[str, Any] = dataclasses.field(default_factory=dict)  # for the plots
    window: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class DriftReport:
    drifted: bool
    features: list[FeatureDrift]
    n_window: int
    alpha: float
    detail: str

    @property
    def drivers(self) -> list[str]:
        return [f.name for f in sorted(self.features, key=lambda f: -f.effect) if f.drifted]

    def as_dict(self) -> dict[str, Any]:
        return {"drifted": self.drifted, "drivers": self.drivers, "n_window": self.n_window,
                "alpha": self.alpha, "detail": self.detail,
                "features": [f.as_dict() for f in self.features]}


@dataclasses.dataclass
class Window:
    """What production sent and got: per scalar feature its values, the answers (labels),
    confidences, and a sample of pixel vectors or texts."""

    scalars: dict[str, list[float]]
    answers: list[str]
    confidence: list[float]
    vectors: list[list[float]] = dataclasses.field(default_factory=list)
    texts: list[str] = dataclasses.field(default_factory=list)
    n: int = 0


def _histogram(ref: np.ndarray, cur: np.ndarray, bins: int = 20) -> tuple[dict[str, Any],
                                                                          dict[str, Any]]:
    both = np.concatenate([ref, cur])
    low, high = float(np.min(both)), float(np.max(both))
    edges = np.linspace(low, high if high > low else low + 1, bins + 1)
    shares = [np.histogram(v, edges)[0] / max(len(v), 1) for v in (ref, cur)]
    return ({"edges": edges.tolist(), "shares": shares[0].tolist()},
            {"edges": edges.tolist(), "shares": shares[1].tolist()})


def ks(name: str, reference: list[float], window: list[float]) -> FeatureDrift:
    from scipy.stats import ks_2samp

    ref, cur = np.asarray(reference, float), np.asarray(window, float)
    result = ks_2samp(ref, cur)
    r, w = _histogram(ref, cur)
    return FeatureDrift(name, "ks", "number", float(result.pvalue), float(result.statistic),
                        len(ref), len(cur), reference=r, window=w)


def chi_square(name: str, reference: dict[str, float], window: list[str],
               n_reference: int, top: int = 10) -> FeatureDrift:
    """Two samples, so the reference's own sampling error counts: a chi-square test of the
    2 x k table of reference and window counts, over the reference's ``top`` classes and
    ``(other)`` (a word model's thousands of answers would leave most cells nearly empty,
    where the approximation fails)."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency

    kept = sorted(reference, key=lambda k: -reference[k])[:top]
    other = "(other)"
    shares = {k: reference[k] for k in kept}
    if len(reference) > top:
        shares[other] = max(0.0, 1.0 - sum(shares.values()))
    window = [w if w in shares else other for w in window]
    counts = Counter(window)
    labels = sorted(set(shares) | set(counts))
    n = len(window)
    ref = np.asarray([shares.get(k, 0.0) for k in labels]) * n_reference
    observed = np.asarray([counts.get(k, 0) for k in labels], float)
    table = np.vstack([ref, observed])
    table = table[:, table.sum(axis=0) > 0]
    p = float(chi2_contingency(table, correction=False).pvalue) if table.shape[1] > 1 else 1.0
    ref_shares, cur_shares = ref / max(ref.sum(), 1), observed / max(n, 1)
    effect = float(jensenshannon(ref_shares, cur_shares, base=2))
    return FeatureDrift(name, "chi2", "category", p, effect, n_reference, n,
                        reference={"labels": labels, "shares": ref_shares.tolist()},
                        window={"labels": labels, "shares": cur_shares.tolist()})


def domain_classifier(name: str, reference: Any, window: Any, text: bool = False,
                      seed: int = 0) -> FeatureDrift:
    """Can a classifier tell the window from the reference? ROC AUC from 5-fold cross-
    validated probabilities."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import StandardScaler

    n_ref, n_cur = len(reference), len(window)
    y = np.r_[np.zeros(n_ref), np.ones(n_cur)]
    if text:
        from sklearn.feature_extraction.text import HashingVectorizer

        model = make_pipeline(
            make_union(HashingVectorizer(n_features=2**14, ngram_range=(1, 2),
                                         alternate_sign=False, norm="l2"),
                       HashingVectorizer(n_features=2**14, analyzer="char_wb",
                                         ngram_range=(3, 4), alternate_sign=False, norm="l2")),
            LogisticRegression(max_iter=1000, C=1.0))
        x: Any = list(reference) + list(window)
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=0.1))
        x = np.vstack([np.asarray(reference, float), np.asarray(window, float)])
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, scores))
    sd = math.sqrt((n_ref + n_cur + 1) / (12 * n_ref * n_cur))
    p = float(0.5 * math.erfc((auc - 0.5) / sd / math.sqrt(2)))
    return FeatureDrift(name, "domain-classifier", "text" if text else "domain", p,
                        max(0.0, 2 * (auc - 0.5)),
                        n_ref, n_cur, reference={"auc": auc}, window={"auc": auc})


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    m = len(p_values)
    order = np.argsort(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted.tolist()


def compare(profile: Profile, window: Window, alpha: float = 0.05,
            min_effect: dict[str, float] | None = None) -> DriftReport:
    """Every test the profile and window allow, corrected together; one verdict."""
    minimum = {**MIN_EFFECT, **(min_effect or {})}
    if window.n < MIN_WINDOW:
        return DriftReport(False, [], window.n, alpha,
                           f"not known yet: {window.n} logged answers in the window, the "
                           f"tests need at least {MIN_WINDOW}")
    tests: list[FeatureDrift] = []
    for name, reference in profile.scalars.items():
        values = window.scalars.get(name) or []
        if len(values) >= MIN_WINDOW and reference:
            tests.append(ks(name, reference, values))
    if profile.predicted and window.answers:
        tests.append(chi_square("predicted class", profile.predicted, window.answers,
                                profile.n))
    if profile.confidence and len(window.confidence) >= MIN_WINDOW:
        tests.append(ks("confidence", profile.confidence, window.confidence))
    if profile.vectors and len(window.vectors) >= MIN_WINDOW:
        tests.append(domain_classifier("pixels (domain classifier)", profile.vectors,
                                       window.vectors))
    if profile.texts and len(window.texts) >= MIN_WINDOW:
        tests.append(domain_classifier("text (domain classifier)", profile.texts,
                                       window.texts, text=True))
    for test, adjusted in zip(tests, holm([t.p_value for t in tests]), strict=True):
        test.adjusted_p = adjusted
        test.drifted = adjusted < alpha and test.effect >= minimum[test.kind]
    drifted = [t for t in tests if t.drifted]
    if not tests:
        detail = "nothing to compare: the window and the profile share no feature"
    elif drifted:
        detail = "drift: " + ", ".join(f"{t.name} ({t.test}, effect {t.effect:.2f}, p "
                                        f"{t.adjusted_p:.2g})" for t in drifted)
    else:
        detail = f"no drift in {len(tests)} tests (alpha {alpha}, Holm-corrected)"
    return DriftReport(bool(drifted), tests, window.n, alpha, detail)
