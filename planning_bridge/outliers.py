"""Outlier flags for a monthly demand history: months far from the series' own pattern.

``flag_outliers`` compares each month with what its neighbours and its season say it should
be, and flags it when the difference is beyond ``threshold`` robust standard deviations. The
planner decides what a flag means (accept, override, ignore; see ``settings.py``); this module
only points at months and never changes a value. Pure functions, no database.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from statsmodels.nonparametric.smoothers_lowess import lowess

MIN_MONTHS = 6           # fewer months say too little about what is normal
THRESHOLD = 5.0          # robust standard deviations beyond which a month is flagged
MAD_TO_SIGMA = 1.4826    # scales a median absolute deviation to a normal standard deviation
# A deviation under THRESHOLD x this share of the mean level (10%) is never an outlier, however
# regular the rest of the series is: planners care about a doubled month, not a 3% wiggle.
MIN_RELATIVE_SCALE = 0.02
TREND_SPAN = 13          # months in the local trend fit: a season and one
SHORT_TREND_SPAN = 7     # the same for histories under two seasons


def as_history(history: Sequence[float]) -> np.ndarray:
    """The history as a 1-d float array; raises ``ValueError`` for NaN, infinity or nesting."""
    values = np.asarray(history, dtype=float)
    if values.ndim != 1:
        raise ValueError("history must be a flat sequence of monthly numbers")
    if not np.all(np.isfinite(values)):
        raise ValueError("history must hold finite numbers (use 0 for a month without orders)")
    return values


def is_constant(values: np.ndarray) -> bool:
    if values.size == 0:
        return True
    return float(np.ptp(values)) <= 1e-9 * max(1.0, float(np.max(np.abs(values))))


def flag_outliers(history: Sequence[float], *, period: int = 12,
                  threshold: float = THRESHOLD) -> tuple[int, ...]:
    """Indices of the months that lie far from the series' pattern, oldest first.

    1. Expected value of each month: a seasonal profile (per month of the season, the median
       of the values around a centred moving average; from two full seasons on) plus a local
       trend through the seasonally adjusted series (LOWESS with robustness iterations, so
       the outliers do not bend the line they are measured against).
    2. Spread: the median absolute deviation of the seasonal differences (month against the
       same month a season earlier; month against the previous one for short histories),
       scaled to a standard deviation, floored at ``MIN_RELATIVE_SCALE`` of the mean level.
       The differences, unlike the residuals of step 1, are not shrunk by the fit itself.
    3. A month is flagged when its residual exceeds ``threshold`` times that spread.

    Histories under ``MIN_MONTHS``, constant ones and intermittent ones (more zero months
    than others, which have no pattern to be far from) get no flags.

    :param history: monthly units, oldest first, no gaps.
    :param period: months per season (12 for yearly seasonality; 1 for none).
    :param threshold: robust z-score beyond which a month is flagged.
    """
    return find_outliers(as_history(history), period, threshold)[0]


def find_outliers(values: np.ndarray, period: int,
                  threshold: float = THRESHOLD) -> tuple[tuple[int, ...], np.ndarray]:
    """(flagged indices, expected value of every month); see ``flag_outliers``."""
    if values.size < MIN_MONTHS or is_constant(values) or np.mean(values == 0) > 0.5:
        return (), values.copy()
    lag = period if uses_season(values, period) else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = expected_values(values, lag)
    residuals = values - expected
    spread = robust_spread(values, lag)
    if spread <= 0:
        return (), expected
    centre = float(np.median(residuals))
    flagged = np.flatnonzero(np.abs(residuals - centre) > threshold * spread)
    return tuple(int(i) for i in flagged), expected


def uses_season(values: np.ndarray, period: int) -> bool:
    return period >= 2 and values.size >= 2 * period


def expected_values(values: np.ndarray, period: int) -> np.ndarray:
    """Seasonal profile (when ``period`` > 1) plus a robust local trend."""
    n = values.size
    seasonal = seasonal_profile(values, period)[np.arange(n) % period] if period > 1 else np.zeros(n)
    adjusted = values - seasonal
    span = TREND_SPAN if period > 1 else SHORT_TREND_SPAN
    trend = lowess(adjusted, np.arange(n, dtype=float), frac=min(1.0, span / n), it=3,
                   delta=0.0, return_sorted=False)
    return seasonal + np.asarray(trend, dtype=float)


def seasonal_profile(values: np.ndarray, period: int, kind: str = "add") -> np.ndarray:
    """The classical decomposition's seasonal effect of each month of the season, made robust:
    the median, over the seasons, of the value against its centred moving average (ratio for
    ``kind`` "mul", averaging 1; difference for "add", summing to 0). The median keeps one
    outlier from moving its month's effect; holding the moving average flat over the half
    season at each end gives every season a say, so three seasons outvote one bad month.
    Needs at least two seasons of values (and positive ones for "mul")."""
    n = values.size
    weights = np.ones(period + 1 - period % 2)
    if period % 2 == 0:           # a 2 x period average centres an even season
        weights[0] = weights[-1] = 0.5
    weights /= period
    half = weights.size // 2
    trend = np.empty(n)
    trend[half: n - half] = np.convolve(values, weights, mode="valid")
    trend[:half], trend[n - half:] = trend[half], trend[n - half - 1]
    if kind == "mul":
        profile = np.array([np.median(values[m::period] / trend[m::period]) for m in range(period)])
        return profile / profile.mean()
    profile = np.array([np.median(values[m::period] - trend[m::period]) for m in range(period)])
    return profile - profile.mean()


def robust_spread(values: np.ndarray, lag: int) -> float:
    differences = values[lag:] - values[:-lag]
    mad = float(np.median(np.abs(differences - np.median(differences))))
    # a difference of two months carries the noise of both, hence the square root of two
    return max(MAD_TO_SIGMA * mad / np.sqrt(2), MIN_RELATIVE_SCALE * float(np.mean(np.abs(values))))
