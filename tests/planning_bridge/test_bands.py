"""Bands: the 10th and 90th percentiles of Σ Q·Bernoulli(p) against full enumeration, and the
approximation against simulation where enumeration is out of reach."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from planning_bridge.bands import (
    Moments,
    approximate_percentiles,
    band,
    convolved_percentiles,
    enumerated_percentiles,
)


def brute_force(quantities, chances, level):
    """Smallest total s with P(S <= s) >= level, over all 2^n outcomes."""
    outcomes = []
    for won in itertools.product((0, 1), repeat=len(quantities)):
        total = sum(q for q, w in zip(quantities, won) if w)
        chance = np.prod([p if w else 1 - p for p, w in zip(chances, won)])
        outcomes.append((total, chance))
    outcomes.sort()
    cumulative = 0.0
    for total, chance in outcomes:
        cumulative += chance
        if cumulative >= level - 1e-12:
            return total
    return outcomes[-1][0]


@pytest.mark.parametrize("seed", range(8))
def test_small_sets_match_full_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 13))
    quantities = rng.integers(1, 40, n).astype(float)
    chances = rng.uniform(0.02, 0.98, n)
    expected = (brute_force(quantities, chances, 0.1), brute_force(quantities, chances, 0.9))
    assert band(quantities, chances) == expected
    assert enumerated_percentiles(quantities, chances, (0.1, 0.9)) == expected
    assert convolved_percentiles(quantities, chances, (0.1, 0.9)) == expected


def test_fractional_quantities_are_enumerated_too():
    quantities, chances = [0.5, 2.25, 7.5], [0.3, 0.6, 0.9]
    assert band(quantities, chances) == (brute_force(quantities, chances, 0.1),
                                        brute_force(quantities, chances, 0.9))


def test_the_convolution_handles_hundreds_of_deals_exactly():
    rng = np.random.default_rng(42)
    quantities, chances = rng.integers(1, 30, 300).astype(float), rng.uniform(0.05, 0.9, 300)
    low, high = band(quantities, chances)
    draws = (rng.random((20_000, 300)) < chances) @ quantities
    assert abs(low - np.quantile(draws, 0.1)) <= 3 and abs(high - np.quantile(draws, 0.9)) <= 3


def test_the_approximation_follows_simulation_on_large_skewed_sets():
    rng = np.random.default_rng(7)
    quantities = rng.lognormal(2.0, 1.0, 3000)  # fractional: no exact path
    chances = rng.uniform(0.02, 0.5, 3000)
    low, high = band(quantities, chances)
    draws = (rng.random((4000, 3000)) < chances) @ quantities
    assert low == pytest.approx(np.quantile(draws, 0.1), rel=0.02)
    assert high == pytest.approx(np.quantile(draws, 0.9), rel=0.02)


def test_certain_and_impossible_deals():
    assert band([5, 7], [1.0, 1.0]) == (12, 12)
    assert band([5, 7], [0.0, 0.0]) == (0, 0)
    assert band([], []) == (0, 0)


def test_moments_add_up():
    q, p = np.array([3.0, 1.0]), np.array([0.4, 0.5])
    total = Moments.of(q[:1], p[:1]) + Moments.of(q[1:], p[1:])
    assert (total.mean, total.variance, total.maximum) == pytest.approx((1.7, 9 * 0.24 + 0.25, 4.0))


def test_the_approximation_stays_between_zero_and_everything():
    low, high = approximate_percentiles(Moments(mean=1.0, variance=50.0, third=0.0, maximum=3.0), (0.1, 0.9))
    assert 0 <= low <= high <= 3
