"""Close-date slips learned from won deals, and the slip-adjusted demand months."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from planning_bridge import pipeline
from planning_bridge.observations import Features, Observations
from planning_bridge.services import demand_input
from planning_bridge.timing import EARLIEST, OFFSETS, SlipDistribution, learn_slips, no_slip
from tests.conftest import NOW

TODAY = date(2026, 3, 10)


def observations(expected: list[str], closed: list[str], stage: str = "Proposal", won=True) -> Observations:
    n = len(expected)
    none = np.array([stage] * n, dtype=object)
    features = Features(none, np.array(["PUMP"] * n, dtype=object), *(np.zeros(n) for _ in range(4)))
    return Observations(
        features, np.array([str(i) for i in range(n)], dtype=object),
        np.array(["2025-01-01T00:00:00"] * n, dtype="datetime64[s]"),
        np.array(expected, dtype="datetime64[D]"), np.full(n, won), np.array(closed, dtype="datetime64[D]"),
    )


def test_slips_are_counted_in_months_from_the_expected_close():
    obs = observations(["2025-03-10"] * 40, ["2025-03-28"] * 20 + ["2025-05-02"] * 12 + ["2025-02-20"] * 8)
    slips = learn_slips(obs)
    pmf = slips.pmf("Proposal")
    assert pmf[0 - EARLIEST] == pytest.approx(0.5) and pmf[2 - EARLIEST] == pytest.approx(0.3)
    assert pmf[-1 - EARLIEST] == pytest.approx(0.2)
    assert slips.mean_slip("Proposal") == pytest.approx(0.6 - 0.2)


def test_few_won_deals_learn_nothing_and_lost_ones_never_count():
    assert not learn_slips(observations(["2025-03-10"] * 10, ["2025-09-01"] * 10)).learned
    assert not learn_slips(observations(["2025-03-10"] * 50, ["2025-09-01"] * 50, won=False)).learned


def test_a_stage_seen_rarely_uses_the_pooled_slips():
    obs = observations(["2025-03-10"] * 40, ["2025-04-10"] * 40)
    slips = learn_slips(obs)
    assert slips.pmf("Qualified") is slips.pooled and slips.pmf("Proposal")[1 - EARLIEST] == 1.0


def test_slip_adjusted_demand_spreads_each_deal_over_its_likely_months(deal_at, monkeypatch):
    # PUMP 10 at 0.5, closing 2026-06-10, due 2026-07-10; half of such deals slip one month.
    deal_at(NOW, 2, date(2026, 6, 10), [("PUMP", 10, 100)])
    half = np.zeros(OFFSETS.size)
    half[0 - EARLIEST] = half[1 - EARLIEST] = 0.5
    monkeypatch.setattr(pipeline, "learn_slips", lambda _obs: SlipDistribution({}, half, 100))
    rows = {r.period: r for r in demand_input(start="2026-06", end="2026-09", probabilities="stage",
                                               slip_adjusted=True, today=TODAY) if r.family == "PUMP"}
    assert rows["2026-07"].weighted_units == rows["2026-08"].weighted_units == 2.5
    assert rows["2026-07"].best_case_units == 5 and rows["2026-09"].weighted_units == 0
    # Each month's band: 10 units with probability 0.5 x 0.5
    assert (rows["2026-07"].low_units, rows["2026-07"].high_units) == (0, 10)
    plain = demand_input(start="2026-06", end="2026-09", probabilities="stage", today=TODAY)
    assert sum(r.weighted_units for r in plain) == 5


def test_an_early_close_never_lands_before_today(deal_at, monkeypatch):
    deal_at(NOW, 2, date(2026, 3, 20), [("VALVE", 10, 1)])  # due 2026-04-03
    early = np.zeros(OFFSETS.size)
    early[-3 - EARLIEST] = 1.0
    monkeypatch.setattr(pipeline, "learn_slips", lambda _obs: SlipDistribution({}, early, 100))
    rows = {r.period: r.weighted_units for r in demand_input(
        start="2025-12", end="2026-04", probabilities="stage", slip_adjusted=True, today=TODAY)
        if r.family == "VALVE"}
    assert rows == {"2025-12": 0, "2026-01": 0, "2026-02": 0, "2026-03": 0, "2026-04": 5}


def test_without_learned_slips_the_adjusted_timing_is_the_plain_one(deal_at):
    deal_at(NOW, 2, date(2026, 6, 10), [("PUMP", 10, 100)])
    plain = demand_input(start="2026-06", end="2026-09", probabilities="stage", today=TODAY)
    adjusted = demand_input(start="2026-06", end="2026-09", probabilities="stage", slip_adjusted=True, today=TODAY)
    assert list(adjusted) == list(plain)
    assert "slips learned from 0" in adjusted.model_version
    assert list(no_slip()).count(1.0) == 1
