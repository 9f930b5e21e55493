"""The statistical baseline: a forecast of a family's monthly units from its own history.

Which method runs depends on how much history there is:

* no history: zeros; a constant history (all zeros included): that constant;
* under one season (``period`` months): the mean of the history;
* under two seasons: seasonal naive (each month repeats the same month a year earlier);
* two seasons or more: a combination, the mean of two forecasts made on the seasonally
  adjusted series: exponential smoothing (level, or level with damped trend, chosen by AICc)
  and the Theta method. The series is adjusted with a classical decomposition (centred moving
  average; each month's effect is the median over the years, so one outlier cannot shift it),
  multiplicative when every month is positive and additive otherwise, and only when the 90%
  autocorrelation test at lag ``period`` says it is seasonal (as in the M3/M4 benchmarks).

On the 1,428 monthly series of the M3 competition the combination scores a mean sMAPE of 13.71
against 13.85 for Theta, the competition's best method (``bench/baseline_m3.py``). ``fitted``
holds one-step-ahead in-sample values, so a month's fitted value is what the model expected
there; the pages show it for months with actuals, and an accepted outlier takes it.
``outliers`` lists the months ``planning_bridge.outliers.flag_outliers`` flags.
Pure functions on plain numbers: no database, deterministic, statsmodels' warnings kept inside.
"""
from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.stattools import acf

from planning_bridge.contracts import BaselineForecast
from planning_bridge.outliers import (
    as_history,
    find_outliers,
    flag_outliers,
    is_constant,
    seasonal_profile,
)

try:  # installed with scikit-learn; only a speed-up, so its absence is no error
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

__all__ = ["forecast_baseline", "flag_outliers"]

log = logging.getLogger(__name__)

SEASONALITY_Z = 1.645    # one-sided 90% critical value of the autocorrelation test
ETS_CANDIDATES = (       # (label, trend, damped): the trend is always damped when present;
    ("A,N,N", None, False),   # an undamped trend extrapolates too far over 18 months
    ("A,Ad,N", "add", True),
)


@dataclass(frozen=True)
class Member:
    """One forecast of the combination, on the seasonally adjusted scale."""

    name: str
    fitted: np.ndarray
    forecast: np.ndarray


def forecast_baseline(history: Sequence[float], horizon: int, *, period: int = 12,
                      nonnegative: bool = True) -> BaselineForecast:
    """Forecast ``horizon`` months after ``history`` and the fitted value of every past month.

    :param history: monthly units, oldest first, no gaps (0 for a month without orders).
    :param horizon: months to forecast after the last month of history.
    :param period: months per season (12 for yearly seasonality, 1 for none).
    :param nonnegative: clip fitted values and forecasts at zero (demand is never negative);
        the M3 benchmark turns it off to score the raw method.
    :raises ValueError: for a negative horizon, a period below 1 or non-finite history.
    """
    if horizon < 0:
        raise ValueError("horizon must be 0 or more months")
    if period < 1:
        raise ValueError("period must be at least 1 month")
    values = as_history(history)
    outliers, expected = find_outliers(values, period)
    with single_threaded_blas():
        fitted, forecast, method = choose_and_forecast(values, horizon, period, outliers, expected)
    if nonnegative:
        fitted, forecast = np.maximum(fitted, 0.0), np.maximum(forecast, 0.0)
    return BaselineForecast(
        fitted=tuple(float(v) for v in fitted),
        forecast=tuple(float(v) for v in forecast),
        method=method,
        outliers=outliers,
    )


def single_threaded_blas():
    """The models are tiny: BLAS threads cost more to start than they save (the fits run about
    twice as fast on one thread). The limit is process-wide while it lasts, harmless here."""
    return threadpool_limits(limits=1) if threadpool_limits is not None else nullcontext()


def choose_and_forecast(values: np.ndarray, horizon: int, period: int,
                        outliers: tuple[int, ...] = (), expected: np.ndarray | None = None):
    """Steps by the length of the history; returns (fitted, forecast, method). ``outliers``
    and their ``expected`` values only feed the seasonality test (see ``combination``)."""
    n = values.size
    if n == 0:
        return np.zeros(0), np.zeros(horizon), "none"
    if is_constant(values):
        return flat(values, values[-1], horizon, "constant")
    if n < max(period, 3):
        return flat(values, float(np.mean(values)), horizon, "mean")
    if n < max(2 * period, 8):
        if period >= 2:
            return seasonal_naive(values, horizon, period)
        return flat(values, float(np.mean(values)), horizon, "mean")
    result = combination(values, horizon, period, outliers, expected)
    if result is None:  # every model failed to fit: fall back to what needs no fitting
        log.warning("baseline models failed on a %d-month history; using seasonal naive", n)
        return seasonal_naive(values, horizon, period) if period >= 2 else \
            flat(values, float(np.mean(values)), horizon, "mean")
    return result


def flat(values: np.ndarray, level: float, horizon: int, method: str):
    return np.full(values.size, level), np.full(horizon, level), method


def seasonal_naive(values: np.ndarray, horizon: int, period: int):
    """Each month repeats the same month one season earlier. The first season has no earlier
    season, so its fitted values are its median (robust to the outlier a planner may fix)."""
    n = values.size
    fitted = np.empty(n)
    fitted[:period] = np.median(values[:period])
    fitted[period:] = values[:-period]
    last_season = values[n - period:]
    forecast = np.array([last_season[h % period] for h in range(horizon)])
    return fitted, forecast, "seasonal_naive"


def combination(values: np.ndarray, horizon: int, period: int,
                outliers: tuple[int, ...] = (), expected: np.ndarray | None = None):
    """1. Seasonally adjust (when seasonal), 2. fit ETS and Theta on the adjusted series,
    3. average the members that fitted, 4. put the season back. ``None`` if no member fitted.

    The seasonality test reads the history with its flagged months at their expected values:
    one spike inflates the variance enough to hide a real season from the autocorrelation.
    The models themselves fit the history as given; cleaning it is the planner's decision."""
    tested = values.copy()
    if outliers and expected is not None:
        tested[list(outliers)] = expected[list(outliers)]
    kind, in_sample, ahead = seasonal_factors(values, period, horizon, tested)
    adjusted = values / in_sample if kind == "mul" else values - in_sample
    with warnings.catch_warnings():
        # statsmodels warns about convergence and parameter bounds on hard series; the
        # members are checked for finite output instead, and pytest runs with warnings as errors
        warnings.simplefilter("ignore")
        members = [m for m in (fit_ets(adjusted, horizon), fit_theta(adjusted, horizon, period))
                   if m is not None]
    if not members:
        return None
    fitted = np.mean([m.fitted for m in members], axis=0)
    forecast = np.mean([m.forecast for m in members], axis=0)
    if kind == "mul":
        fitted, forecast = fitted * in_sample, forecast * ahead
    elif kind == "add":
        fitted, forecast = fitted + in_sample, forecast + ahead
    names = ", ".join(m.name for m in members)
    method = f"combo({names})" if len(members) > 1 else names
    return fitted, forecast, method if kind == "none" else f"{method} seasonal={kind}"


def seasonal_factors(values: np.ndarray, period: int, horizon: int,
                     tested: np.ndarray | None = None):
    """(kind, factor of each past month, factor of each future month) where kind is "mul",
    "add" or "none"; the factors are zeros (unused) when the series is not seasonal.
    ``tested`` is the series the seasonality test reads (default: ``values``)."""
    n = values.size
    kind = "none"
    tested = values if tested is None else tested
    if period >= 2 and n >= 2 * period and is_seasonal(tested, period):
        kind = "mul" if np.all(values > 0) else "add"
    if kind == "none":
        return kind, np.zeros(n), np.zeros(horizon)
    pattern = seasonal_profile(values, period, kind)
    if not np.all(np.isfinite(pattern)) or (kind == "mul" and np.any(pattern <= 0)):
        return "none", np.zeros(n), np.zeros(horizon)
    return kind, pattern[np.arange(n) % period], pattern[np.arange(n, n + horizon) % period]


def is_seasonal(values: np.ndarray, period: int) -> bool:
    """The 90% test of the M4 benchmarks: the autocorrelation at lag ``period`` exceeds
    1.645 standard errors, with Bartlett's standard error from the lower lags."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = acf(values, nlags=period, fft=False)
    if not np.all(np.isfinite(r)):
        return False
    limit = SEASONALITY_Z * np.sqrt((1 + 2 * np.sum(r[1:period] ** 2)) / values.size)
    return bool(abs(r[period]) > limit)


def fit_ets(adjusted: np.ndarray, horizon: int) -> Member | None:
    """Exponential smoothing with additive errors, level only or damped trend, the lower
    AICc winning. On the adjusted scale, so no seasonal state is needed."""
    best = None
    for label, trend, damped in ETS_CANDIDATES:
        try:
            result = ETSModel(adjusted, error="add", trend=trend, damped_trend=damped).fit(disp=False)
        except Exception as error:  # noqa: BLE001 - a model that cannot fit is simply left out
            log.debug("ets(%s) did not fit: %s", label, error)
            continue
        aicc = float(result.aicc)
        fitted = np.asarray(result.fittedvalues, dtype=float)
        forecast = np.asarray(result.forecast(horizon), dtype=float) if horizon else np.zeros(0)
        if not (np.isfinite(aicc) and np.all(np.isfinite(fitted)) and np.all(np.isfinite(forecast))):
            continue
        if best is None or aicc < best[0]:
            best = (aicc, Member(f"ets({label})", fitted, forecast))
    return None if best is None else best[1]


def fit_theta(adjusted: np.ndarray, horizon: int, period: int) -> Member | None:
    """The Theta method (Assimakopoulos & Nikolopoulos 2000) as statsmodels fits it: simple
    exponential smoothing plus half the slope of the linear trend (theta = 2)."""
    try:
        result = ThetaModel(adjusted, period=period, deseasonalize=False).fit()
    except Exception as error:  # noqa: BLE001 - a model that cannot fit is simply left out
        log.debug("theta did not fit: %s", error)
        return None
    alpha, b0 = float(result.params["alpha"]), float(result.params["b0"])
    forecast = np.asarray(result.forecast(horizon), dtype=float) if horizon else np.zeros(0)
    fitted = theta_fitted(adjusted, alpha, b0)
    if not (np.all(np.isfinite(fitted)) and np.all(np.isfinite(forecast))):
        return None
    return Member("theta", fitted, forecast)


def theta_fitted(adjusted: np.ndarray, alpha: float, b0: float) -> np.ndarray:
    """One-step-ahead values of the Theta forecast from each month's origin: the smoothed
    level so far plus the drift term of Hyndman & Billah (2003) with h = 1 and t months."""
    level = adjusted[0]               # statsmodels starts the smoothing at the first value
    ses = np.empty(adjusted.size)
    for t, value in enumerate(adjusted):
        ses[t] = level
        level = alpha * value + (1 - alpha) * level
    months = np.arange(adjusted.size)
    if alpha > 1e-9:
        drift_steps = (1 - (1 - alpha) ** months) / alpha
    else:                             # the limit as alpha goes to 0
        drift_steps = months.astype(float)
    return ses + 0.5 * b0 * drift_steps
