"""Accuracy per family and lag, from rebuilt history and from snapshots, on a deal whose
story is known: PUMP 10 at Negotiation (0.75), expected 2026-02-10, won on 2026-02-10, so 10
units of actual demand in March (lead time 30 days)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from crm.extensions import db
from planning_bridge.services import accuracy_report, take_snapshot
from tests.planning_bridge.conftest import at

LATER = date(2026, 4, 15)


@pytest.fixture
def won_in_february(deal_at, close_at):
    deal = deal_at(at(date(2026, 1, 5)), 3, date(2026, 2, 10), [("PUMP", 10, 100)])
    close_at(deal, at(date(2026, 2, 10)), won=True)


def cells(report, origin):
    return {(c.family, c.lag, c.forecast): c for c in report.cells if c.origin == origin}


def test_rebuilt_history_scores_each_lag(won_in_february):
    report = accuracy_report(lags=(1, 2), as_of=LATER)
    assert report.months == ("2026-03",) and report.snapshot_count == 0
    scored = cells(report, "rebuilt")
    # lag 2, as of 2026-01-31: the open deal weighted 7.5; lag 1, as of 2026-02-28: booked, 10
    assert (scored[("PUMP", 2, "stage")].forecast_units, scored[("PUMP", 2, "stage")].wmape) == (7.5, 0.25)
    assert scored[("PUMP", 2, "stage")].bias == -0.25
    assert (scored[("PUMP", 1, "stage")].wmape, scored[("PUMP", 1, "stage")].bias) == (0, 0)
    assert scored[("PUMP", 2, "baseline")].wmape == 1  # no history yet: a baseline of zero
    assert scored[("ALL", 2, "stage")].actual_units == 10 and scored[("ALL", 2, "stage")].months == 1
    assert scored[("VALVE", 2, "stage")].wmape is None  # nothing happened: nothing to divide by
    added = {(v.family, v.lag, v.candidate, v.reference): v.fva for v in report.value_added}
    assert added[("PUMP", 2, "stage", "baseline")] == 0.75
    assert added[("PUMP", 2, "calibrated", "stage")] == 0  # too little history: calibrated is stage


def test_snapshots_are_scored_the_same_way(won_in_february):
    take_snapshot(actor_id=None, now=datetime(2026, 2, 1, 2, 30, tzinfo=timezone.utc), start="2026-02",
                  end="2026-04", probabilities="stage", as_of=date(2026, 1, 31))
    db.session.commit()
    report = accuracy_report(lags=(1, 2), as_of=LATER)
    assert report.snapshot_count == 1
    from_snapshots = cells(report, "snapshots")
    assert from_snapshots[("PUMP", 2, "stage")].forecast_units == 7.5
    assert ("PUMP", 1, "stage") not in from_snapshots
    assert cells(report, "rebuilt")[("PUMP", 2, "stage")].forecast_units == 7.5


def test_no_actuals_yet_says_so(families):
    report = accuracy_report(as_of=LATER)
    assert report.cells == () and "no past month" in report.notes[0]
