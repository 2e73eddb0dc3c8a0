"""The statistics behind quality figures and A/B verdicts.

- ``wilson``: the Wilson score interval of a proportion (accuracy from labels), good at small
  counts and near 0 or 1 where the normal interval is not.
- ``mean_interval``: a t interval of a mean (ratings from 1 to 5).
- ``SequentialTest``: the mixture sequential probability ratio test (mSPRT, Johari, Pekelis
  and Walsh, "Always valid inference", 2017) on paired outcomes of two versions, with its
  confidence sequence. Its error rate holds however often it is looked at, so a readout can
  be refreshed every second without inflating false verdicts, which a fixed-sample test
  looked at repeatedly does not survive.
- ``sample_ratio_mismatch``: a chi-square test that the canary split is the configured one; a
  mismatch means the assignment is broken and no verdict can be trusted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from scipy import stats as _stats

Z95 = 1.959963984540054


@dataclasses.dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval and the number of observations behind it."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def as_dict(self) -> dict[str, float | int | None]:
        return dataclasses.asdict(self)


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """The Wilson score interval of ``successes / n``."""
    if n == 0:
        return Interval(None, None, None, 0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n)


def mean_interval(values: Sequence[float]) -> Interval:
    """The mean with a 95% t interval (``None`` bounds under two values)."""
    n = len(values)
    if n == 0:
        return Interval(None, None, None, 0)
    mean = sum(values) / n
    if n < 2:
        return Interval(mean, None, None, n)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = float(_stats.t.ppf(0.975, n - 1)) * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half, n)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the sequential test says about challenger minus champion."""

    decision: str  # "better", "worse" or "not known yet"
    difference: float | None  # challenger - champion, on the paired outcomes
    low: float | None  # the always-valid 95% confidence sequence at this point
    high: float | None
    pairs: int
    likelihood_ratio: float | None
    labels_needed: int | None  # more pairs to decide at the observed difference, if known

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


class SequentialTest:
    """mSPRT on paired differences ``challenger - champion`` with a normal mixture.

    The i-th labelled outcome of one version is paired with the i-th of the other, so the
    differences are independent with mean Δ whatever the two versions' traffic shares. Under
    H0 (Δ = 0) the mixture likelihood ratio Λ_n stays below ``1/alpha`` at every n with
    probability at least 1 - alpha (Ville's inequality); the decision is taken the first time
    it crosses, in the direction of the observed difference. ``tau`` is the mixture's spread:
    the size of difference the test is tuned to find fastest.
    """

    def __init__(self, alpha: float = 0.05, tau: float = 0.05) -> None:
        if not 0 < alpha < 1 or tau <= 0:
            raise ValueError(f"need 0 < alpha < 1 and tau > 0; got alpha={alpha}, tau={tau}")
        self.alpha, self.tau2 = alpha, tau * tau

    def _log_lr(self, n: int, mean: float, var: float) -> float:
        v = var + n * self.tau2
        return 0.5 * math.log(var / v) + (n * n * self.tau2 * mean * mean) / (2 * var * v)

    def _radius(self, n: int, var: float) -> float:
        v = var + n * self.tau2
        return math.sqrt(2 * var * v / (n * n * self.tau2)
                         * (math.log(1 / self.alpha) + 0.5 * math.log(v / var)))

    def verdict(self, champion: Sequence[float], challenger: Sequence[float]) -> Verdict:
        """The verdict on the outcomes so far (1 correct, 0 wrong; or ratings)."""
        n = min(len(champion), len(challenger))
        if n < 2:
            return Verdict("not known yet", None, None, None, n, None, None)
        diffs = [challenger[i] - champion[i] for i in range(n)]
        mean = sum(diffs) / n
        var = sum((d - mean) ** 2 for d in diffs) / (n - 1)
        # a floor on the variance: the first pairs can all agree by chance
        var = max(var, 0.25 / n, 1e-6)
        log_lr = self._log_lr(n, mean, var)
        radius = self._radius(n, var)
        decided = log_lr >= math.log(1 / self.alpha)
        decision = ("better" if mean > 0 else "worse") if decided else "not known yet"
        needed = None if decided else self._more_needed(n, mean, var)
        # outcomes lie in [0, 1], so their difference lies in [-1, 1]
        return Verdict(decision, mean, max(-1.0, mean - radius), min(1.0, mean + radius), n,
                       math.exp(min(log_lr, 700.0)), needed)

    def _more_needed(self, n: int, mean: float, var: float) -> int | None:
        if abs(mean) < 1e-12:
            return None  # no difference observed: no finite number will show one
        threshold = math.log(1 / self.alpha)
        if self._log_lr(10**9, mean, var) < threshold:
            return None
        low, high = n, n
        while self._log_lr(high, mean, var) < threshold:
            high *= 2
        while low < high:  # the statistic grows with n at a fixed mean and variance
            mid = (low + high) // 2
            if self._log_lr(mid, mean, var) >= threshold:
                high = mid
            else:
                low = mid + 1
        return low - n


@dataclasses.dataclass(frozen=True)
class SampleRatio:
    """Whether the observed split between two versions is the configured one."""

    expected_share: float  # of the challenger
    observed_share: float | None
    n: int
    p_value: float | None
    mismatch: bool

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def sample_ratio_mismatch(champion: int, challenger: int, expected_share: float,
                          threshold: float = 0.001) -> SampleRatio:
    """Chi-square test of ``challenger / (champion + challenger)`` against the weight."""
    n = champion + challenger
    if n == 0 or not 0 < expected_share < 1:
        return SampleRatio(expected_share, None, n, None, False)
    expected = [n * (1 - expected_share), n * expected_share]
    p = float(_stats.chisquare([champion, challenger], expected).pvalue)
    return SampleRatio(expected_share, challenger / n, n, p, p < threshold)
