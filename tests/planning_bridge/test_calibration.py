"""Calibrated probabilities recover known win rates, smooth toward the stage defaults when
deals are few, and are scored against the stage defaults on a time-based holdout."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from planning_bridge.calibration import calibration_reports, reliability, score_sources
from planning_bridge.observations import Features, Observations, settled, settling_days
from planning_bridge.probabilities import StageRates, learn, recency_weights
from tests.planning_bridge.conftest import at

TRUE_RATES = {"Prospecting": 0.15, "Qualified": 0.35, "Proposal": 0.6, "Negotiation": 0.85}
DEFAULTS = {"Prospecting": 0.1, "Qualified": 0.25, "Proposal": 0.5, "Negotiation": 0.75}


def synthetic(n_deals: int, seed: int = 0, per_deal: int = 3) -> Observations:
    """Deals whose outcome depends on their stage only, each seen ``per_deal`` times, with
    features that carry no signal."""
    rng = np.random.default_rng(seed)
    stages = np.array(list(TRUE_RATES), dtype=object)[rng.integers(0, 4, n_deals)]
    won = np.array([rng.random() < TRUE_RATES[s] for s in stages])
    n = n_deals * per_deal
    repeat = lambda values: np.repeat(values, per_deal)  # noqa: E731
    features = Features(
        repeat(stages), np.array(["PUMP", "VALVE"], dtype=object)[rng.integers(0, 2, n)],
        rng.uniform(0, 60, n), rng.uniform(0, 200, n), rng.lognormal(8, 1, n),
        np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 30, n)),
    )
    closed = np.datetime64("2025-01-01") + rng.integers(0, 365, n_deals).astype("timedelta64[D]")
    seen = repeat(closed) - np.tile(np.arange(per_deal) * 15 + 1, n_deals).astype("timedelta64[D]")
    return Observations(features, repeat(np.array([str(i) for i in range(n_deals)], dtype=object)),
                        seen.astype("datetime64[s]"), repeat(closed), repeat(won), repeat(closed))


def test_the_model_recovers_a_known_win_rate_per_stage():
    observations = synthetic(2000)
    learned = learn(observations, DEFAULTS)
    assert learned.source == "calibrated" and "logistic regression" in learned.method
    fresh = synthetic(4000, seed=1)
    predicted = learned.predict(fresh.features, DEFAULTS)
    for stage, rate in TRUE_RATES.items():
        assert predicted[fresh.features.stage == stage].mean() == pytest.approx(rate, abs=0.05)


def test_few_deals_give_stage_rates_smoothed_toward_the_defaults():
    observations = synthetic(60, per_deal=1)
    learned = learn(observations, DEFAULTS)
    assert learned.source == "calibrated" and "smoothed" in learned.method
    rates, weights = learned.predictor.rates, recency_weights(observations.at)
    stage = observations.features.stage
    for name in TRUE_RATES:
        seen = weights[stage == name].sum()
        wins = weights[stage == name] @ observations.won[stage == name]
        assert rates[name] == pytest.approx((wins + 10 * DEFAULTS[name]) / (seen + 10))


def test_recent_observations_weigh_more():
    moments = np.array(["2025-01-01", "2025-06-30", "2025-12-27"], dtype="datetime64[s]")
    assert recency_weights(moments) == pytest.approx([0.5 ** (360 / 180), 0.5 ** (180 / 180), 1.0])


def test_smoothing_keeps_an_unseen_stage_at_its_default():
    rates = StageRates.fit(np.array(["Proposal"] * 4, dtype=object), np.array([1, 1, 1, 1], bool), DEFAULTS)
    assert rates.rates["Negotiation"] == 0.75
    assert rates.rates["Proposal"] == pytest.approx((4 + 5) / 14)


def test_too_little_history_falls_back_to_the_stage_defaults():
    learned = learn(synthetic(10, per_deal=1), DEFAULTS)
    assert learned.source == "stage" and learned.predictor is None


def test_the_holdout_scores_both_sources_on_later_settled_moments_only():
    observations = synthetic(1000, per_deal=2)
    as_of = date(2026, 1, 31)
    stage, calibrated, blend = score_sources(observations, DEFAULTS, as_of)
    cut = np.datetime64(stage.holdout_from) - np.timedelta64(1, "D")
    seen = observations.at.astype("datetime64[D]")
    later = (seen > cut) & (seen <= np.datetime64(stage.holdout_until))
    outcome = observations.won[later].astype(float)
    defaults = np.array([DEFAULTS[s] for s in observations.features.stage[later]])
    assert stage.holdout_count == int(later.sum()) > 200
    assert stage.holdout_until <= as_of - timedelta(days=settling_days(observations))
    assert stage.brier == pytest.approx(np.mean((defaults - outcome) ** 2), abs=1e-6)
    assert calibrated.brier < stage.brier  # the defaults are all too low
    assert 0 < calibrated.train_count <= int((observations.closed_on <= cut).sum())
    assert sum(b.count for b in calibrated.buckets) == calibrated.holdout_count
    assert calibrated.ece < stage.ece  # the defaults are too low in every bucket: far from the diagonal
    assert blend.brier <= (stage.brier + calibrated.brier) / 2 + 1e-9  # the Brier score is convex


def test_settling_drops_the_moments_too_recent_to_judge():
    observations = synthetic(200, per_deal=3)  # seen 1, 16 and 31 days before closing
    wait = settling_days(observations)
    assert wait == 31 and settling_days(synthetic(50, per_deal=1)) == 30  # never under 30
    kept = settled(observations, np.datetime64("2025-12-31"))
    assert kept.at.max().astype("datetime64[D]") <= np.datetime64("2025-12-31") - np.timedelta64(wait, "D")


def test_reliability_buckets_hold_predicted_and_won_shares():
    p = np.array([0.05, 0.07, 0.5, 0.55, 1.0])
    won = np.array([0, 1, 1, 0, 1], float)
    buckets = reliability(p, won)
    assert [(b.lower, b.count, b.actual_rate) for b in buckets] == [(0.0, 2, 0.5), (0.5, 2, 0.5), (0.9, 1, 1.0)]
    assert buckets[0].mean_predicted == pytest.approx(0.06)


@pytest.fixture
def closed_history(deal_at, close_at):
    """Sixty deals through the CRM's services over 2025: Prospecting deals win 1 in 5,
    Negotiation deals 4 in 5; the stage defaults say 0.1 and 0.75."""
    start = date(2025, 1, 6)
    for i in range(60):
        created = at(start + timedelta(days=5 * i))
        stage = 0 if i % 2 == 0 else 3
        deal = deal_at(created, stage, created.date() + timedelta(days=40), [("PUMP", 5, 100)])
        won = (i // 2) % 5 == 0 if stage == 0 else (i // 2) % 5 != 0
        close_at(deal, created + timedelta(days=40), won=won)


def test_calibration_on_the_crm_history_beats_defaults_that_are_off(closed_history):
    stage, calibrated, _blend = calibration_reports(as_of=date(2026, 1, 31))
    assert stage.holdout_count == calibrated.holdout_count > 0
    assert calibrated.train_count > 0 and calibrated.holdout_deals >= 10
    assert calibrated.brier < stage.brier


def test_live_calibrated_probabilities_come_from_the_learned_model(closed_history, deal_at):
    from planning_bridge.services import demand_contributions, demand_input

    today = date(2026, 2, 10)
    deal_at(at(date(2026, 2, 2)), 0, date(2026, 5, 4), [("PUMP", 10, 100), ("VALVE", 2, 10)])
    deal_at(at(date(2026, 2, 3)), 3, date(2026, 5, 6), [("PUMP", 10, 100)])
    live = demand_input(start="2026-06", end="2026-06", probabilities="calibrated", today=today)
    assert live.probability_source == "calibrated"
    lines = {c.stage: c.probability for c in demand_contributions(
        family="PUMP", period="2026-06", probabilities="calibrated", today=today)}
    assert lines["Prospecting"] < lines["Negotiation"]
    assert (lines["Prospecting"], lines["Negotiation"]) != (0.1, 0.75)
    rebuilt = demand_input(start="2026-06", end="2026-06", probabilities="calibrated", as_of=today,
                           today=today + timedelta(days=1))
    assert list(rebuilt) == list(live)  # the same features, read live or replayed
