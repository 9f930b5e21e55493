"""The statistical baseline: which method runs for which history, what it returns, and that it
keeps its accuracy on real series (a slice of M3). Pure functions: no database needed."""
from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from planning_bridge.baseline import flag_outliers, forecast_baseline

ROOT = Path(__file__).resolve().parents[2]


def seasonal_series(months: int, *, seed: int = 7, noise: float = 3.0) -> np.ndarray:
    """Level 200 growing 2 a month, a +-30% yearly season peaking in April, small noise."""
    t = np.arange(months)
    rng = np.random.default_rng(seed)
    return (200 + 2 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, noise, months)


def noise_free_continuation(start: int, horizon: int) -> np.ndarray:
    t = np.arange(start, start + horizon)
    return (200 + 2 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12))


def test_seasonal_series_with_trend_is_forecast_along_its_pattern():
    history = seasonal_series(48)

    result = forecast_baseline(history, 12)

    expected = noise_free_continuation(48, 12)
    assert "seasonal=mul" in result.method
    assert np.max(np.abs(np.array(result.forecast) - expected) / expected) < 0.08
    # peaks and troughs fall in the right months, not just the right average
    assert int(np.argmax(result.forecast)) == int(np.argmax(expected))
    assert int(np.argmin(result.forecast)) == int(np.argmin(expected))


def test_fitted_values_follow_the_history_one_step_ahead():
    history = seasonal_series(48)

    fitted = np.array(forecast_baseline(history, 3).fitted)

    assert fitted.shape == (48,)
    assert np.mean(np.abs(fitted[12:] - history[12:]) / history[12:]) < 0.05


def test_history_under_two_years_uses_seasonal_naive():
    history = [float(v) for v in range(10, 28)]          # 18 months

    result = forecast_baseline(history, 14)

    assert result.method == "seasonal_naive"
    # month 19 repeats month 7 (a year earlier), month 31 repeats it again
    assert result.forecast == tuple(history[6:18]) + tuple(history[6:8])
    assert result.fitted[12:] == tuple(history[:6])
    assert result.fitted[:12] == (np.median(history[:12]),) * 12


def test_history_under_one_season_forecasts_its_mean():
    result = forecast_baseline([4, 6, 8, 10, 12], 3)

    assert result.method == "mean"
    assert result.forecast == (8.0, 8.0, 8.0)
    assert result.fitted == (8.0,) * 5


def test_constant_history_forecasts_the_constant():
    result = forecast_baseline([5.0] * 40, 6)

    assert result.method == "constant"
    assert result.forecast == (5.0,) * 6
    assert result.fitted == (5.0,) * 40
    assert result.outliers == ()


def test_all_zero_history_forecasts_zeros():
    result = forecast_baseline([0] * 30, 18)

    assert result.forecast == (0.0,) * 18
    assert result.fitted == (0.0,) * 30


def test_empty_history_forecasts_zeros():
    result = forecast_baseline([], 4)

    assert result == forecast_baseline((), 4)
    assert result.fitted == ()
    assert result.forecast == (0.0,) * 4


def test_zero_horizon_gives_only_fitted_values():
    result = forecast_baseline(seasonal_series(36), 0)

    assert result.forecast == ()
    assert len(result.fitted) == 36


def test_months_without_orders_switch_to_an_additive_season_and_nothing_goes_negative():
    """Zero months rule out a multiplicative season; the forecast still may not dip below 0."""
    season = np.array([0, 0, 5, 40, 90, 120, 130, 110, 60, 20, 0, 0], dtype=float)
    history = np.tile(season, 4) + np.tile([0, 0, 1, -2, 3, 0, -1, 2, 1, 0, 0, 0], 4)
    history[-12:] = np.maximum(history[-12:] - 15, 0)   # a weaker last year pulls the level down

    result = forecast_baseline(history, 18)

    assert "seasonal=add" in result.method
    assert min(result.forecast) >= 0.0
    assert min(result.fitted) >= 0.0
    assert int(np.argmax(result.forecast[:12])) == int(np.argmax(season))


def test_negative_months_such_as_returns_never_give_a_negative_forecast():
    history = [50, 40, -30, 20, 10, -40, 5, 0, -10, 15, -20, 8] * 3

    result = forecast_baseline(history, 12)

    assert min(result.forecast) >= 0.0 and min(result.fitted) >= 0.0


def test_without_clipping_the_raw_method_is_returned():
    history = list(np.linspace(100, 5, 40))             # a line heading below zero

    clipped = forecast_baseline(history, 18)
    raw = forecast_baseline(history, 18, nonnegative=False)

    assert min(raw.forecast) < 0.0
    assert min(clipped.forecast) == 0.0


@pytest.mark.parametrize("history", [
    seasonal_series(60),
    np.r_[np.zeros(20), np.full(20, 7.0)],              # a step up after nothing
    np.r_[np.full(30, 100.0), [100.0001]],               # constant but for rounding
    np.random.default_rng(3).gamma(0.3, 50, 40),         # lumpy, many near-zero months
    np.cumsum(np.random.default_rng(4).normal(0, 10, 70)) + 500,
    [1e9, 2e9] * 15,
], ids=["seasonal", "step", "near-constant", "lumpy", "random-walk", "huge"])
def test_every_history_gives_finite_numbers_of_the_right_shape_and_no_warnings(history):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = forecast_baseline(history, 18)

    assert caught == []
    assert len(result.fitted) == len(history) and len(result.forecast) == 18
    assert np.all(np.isfinite(result.fitted)) and np.all(np.isfinite(result.forecast))
    assert min(result.forecast) >= 0.0


def test_same_history_gives_the_same_forecast():
    history = seasonal_series(50, seed=11, noise=20.0)

    assert forecast_baseline(history, 18) == forecast_baseline(list(history), 18)


def test_yearly_season_can_be_switched_off():
    history = seasonal_series(48)

    result = forecast_baseline(history, 12, period=1)

    assert "seasonal" not in result.method
    assert np.all(np.diff(result.forecast) > 0)   # the trend goes on, no yearly ups and downs


@pytest.mark.parametrize("history, horizon, period", [
    ([1.0, float("nan"), 3.0], 3, 12),
    ([1.0, float("inf")], 3, 12),
    ([1.0, 2.0], -1, 12),
    ([1.0, 2.0], 3, 0),
    ([[1.0, 2.0]], 3, 12),
])
def test_impossible_input_is_refused_with_a_clear_error(history, horizon, period):
    with pytest.raises(ValueError):
        forecast_baseline(history, horizon, period=period)


def test_an_injected_outlier_is_flagged_and_nothing_else():
    history = seasonal_series(48, noise=5.0)
    history[30] *= 2

    assert flag_outliers(history) == (30,)
    assert forecast_baseline(history, 6).outliers == (30,)


def test_an_outlier_in_a_short_history_is_flagged():
    history = seasonal_series(20, noise=5.0)
    history[7] *= 2.5

    assert flag_outliers(history) == (7,)


def test_a_dip_to_zero_is_an_outlier_too():
    history = seasonal_series(36, noise=2.0)
    history[20] = 0.0

    assert flag_outliers(history) == (20,)


def test_the_fitted_value_at_an_outlier_stays_near_the_pattern():
    """Accepting a flag replaces the month with its fitted value; that must not be the spike."""
    history = seasonal_series(48, noise=5.0)
    normal = history[30]
    history[30] *= 2

    fitted = forecast_baseline(history, 1).fitted[30]

    assert abs(fitted - normal) < 0.15 * normal


@pytest.mark.parametrize("history", [
    [],
    [3, 400, 5],                                           # too short to know what is normal
    [7.0] * 36,
    [0, 0, 0, 5, 0, 0, 0, 0, 12, 0, 0, 0] * 3,             # intermittent: no pattern to leave
], ids=["empty", "short", "constant", "intermittent"])
def test_histories_without_a_pattern_get_no_flags(history):
    assert flag_outliers(history) == ()


def test_ordinary_noise_is_not_flagged():
    for seed in range(20):
        assert flag_outliers(seasonal_series(48, seed=seed, noise=5.0)) == ()


def _bench_module():
    """bench/ is scripts, not a package: load the benchmark file as a module."""
    if "baseline_m3" not in sys.modules:
        spec = importlib.util.spec_from_file_location("baseline_m3", ROOT / "bench" / "baseline_m3.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["baseline_m3"] = module   # dataclasses look their module up while building
        spec.loader.exec_module(module)
    return sys.modules["baseline_m3"]


def test_accuracy_on_a_slice_of_m3_does_not_regress():
    """20 monthly M3 series (every 71st). The full run (bench/baseline_m3.py) scores 13.71
    against Theta's 13.85; this slice scored 13.9 when the method was chosen."""
    bench = _bench_module()
    if not bench.DEFAULT_DATA.exists():
        pytest.skip(f"M3 data not found at {bench.DEFAULT_DATA}")
    series = bench.load_monthly_series(bench.DEFAULT_DATA)[::71][:20]

    scores = [bench.score(s)[2] for s in series]

    assert len(series) == 20
    assert np.mean(scores) < 14.5


def test_m3_smape_is_scored_as_the_competition_did():
    bench = _bench_module()

    assert bench.smape([100, 200], [110, 180]) == pytest.approx((200 * 10 / 210 + 200 * 20 / 380) / 2)
    assert bench.smape([0, 0], [0, 0]) == 0.0
