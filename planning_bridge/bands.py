"""The low-high band of a family-month: the 10th and 90th percentiles of S = Σ Q_d · B_d, the
sum over independent deals d, each won (B_d = 1, with probability p_d) or lost, bringing its
quantity Q_d (a deal's lines of the family that month, summed).

The percentile is the smallest value s with P(S ≤ s) ≥ the level, computed:

1. exactly by enumerating all 2^n outcomes for n ≤ 16 deals;
2. exactly by convolution over whole units when every quantity is a whole number and the work
   (deals × total units) stays under ``CONVOLUTION_WORK`` — the usual case for a few hundred
   deals;
3. otherwise by the normal approximation with the Cornish-Fisher skewness correction:
   x = μ + σ (z + (z² − 1) γ / 6), where μ = Σ Q p, σ² = Σ Q² p (1 − p),
   γ = Σ Q³ p (1 − p)(1 − 2p) / σ³, clipped to [0, Σ Q]. With many deals, none dominant, the
   sum is close to normal (Lyapunov); the correction covers the skew of a few big deals or of
   low probabilities. Tests compare it with simulation on large sets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

LOW, HIGH = 0.10, 0.90
ENUMERATION_LIMIT = 16
CONVOLUTION_WORK = 20_000_000
CONVOLUTION_UNITS = 2_000_000
_TOLERANCE = 1e-12  # float sums of probabilities must not miss a percentile by rounding


@dataclass(frozen=True)
class Moments:
    """Σ Q p, Σ Q² p(1-p), Σ Q³ p(1-p)(1-2p) and Σ Q: all an approximate band needs, and
    additive, so they can be summed per group inside the database."""

    mean: float = 0.0
    variance: float = 0.0
    third: float = 0.0
    maximum: float = 0.0

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.mean + other.mean, self.variance + other.variance,
                       self.third + other.third, self.maximum + other.maximum)

    @classmethod
    def of(cls, quantities: np.ndarray, probabilities: np.ndarray) -> Moments:
        q, p = np.asarray(quantities, float), np.asarray(probabilities, float)
        spread = p * (1 - p)
        return cls(float(q @ p), float((q * q) @ spread), float((q ** 3) @ (spread * (1 - 2 * p))),
                   float(q.sum()))


def band(quantities, probabilities, levels=(LOW, HIGH)) -> tuple[float, ...]:
    """Percentiles of Σ Q·Bernoulli(p) at ``levels``, exact when feasible (see module doc)."""
    q = np.asarray(quantities, dtype=float)
    p = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    keep = (q > 0) & (p > 0)
    q, p = q[keep], p[keep]
    if q.size == 0:
        return tuple(0.0 for _ in levels)
    if q.size <= ENUMERATION_LIMIT:
        return enumerated_percentiles(q, p, levels)
    if _whole_units(q) and q.size * q.sum() <= CONVOLUTION_WORK and q.sum() <= CONVOLUTION_UNITS:
        return convolved_percentiles(q, p, levels)
    return approximate_percentiles(Moments.of(q, p), levels)


def enumerated_percentiles(q: np.ndarray, p: np.ndarray, levels) -> tuple[float, ...]:
    n = q.size
    outcomes = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(bool)
    totals = outcomes @ q
    chances = np.prod(np.where(outcomes, p, 1 - p), axis=1)
    order = np.argsort(totals, kind="stable")
    return _percentiles(totals[order], np.cumsum(chances[order]), levels)


def convolved_percentiles(q: np.ndarray, p: np.ndarray, levels) -> tuple[float, ...]:
    units = np.rint(q).astype(np.int64)
    dist = np.zeros(int(units.sum()) + 1)
    dist[0] = 1.0
    reach = 0  # the largest total reachable so far: work only up to it
    for size, chance in zip(units, p):
        head = dist[: reach + 1].copy()
        dist[: reach + 1] *= 1 - chance
        dist[size: size + reach + 1] += head * chance
        reach += size
    return _percentiles(np.arange(dist.size, dtype=float), np.cumsum(dist), levels)


def approximate_percentiles(moments: Moments, levels) -> tuple[float, ...]:
    if moments.variance <= 0:
        return tuple(moments.mean for _ in levels)
    sigma = moments.variance ** 0.5
    skew = moments.third / sigma ** 3
    values = []
    for level in levels:
        z = float(norm.ppf(level))
        x = moments.mean + sigma * (z + (z * z - 1) * skew / 6)
        values.append(float(min(max(x, 0.0), moments.maximum)))
    return tuple(values)


def _percentiles(sorted_totals: np.ndarray, cumulative: np.ndarray, levels) -> tuple[float, ...]:
    found = []
    for level in levels:
        index = int(np.searchsorted(cumulative, level - _TOLERANCE, side="left"))
        found.append(float(sorted_totals[min(index, sorted_totals.size - 1)]))
    return tuple(found)


def _whole_units(q: np.ndarray) -> bool:
    return bool(np.all(np.abs(q - np.rint(q)) < 1e-9))
