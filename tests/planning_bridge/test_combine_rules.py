"""How baseline and pipeline combine per family, without counting a deal twice; the
planner's settings and outlier decisions. The baseline method is replaced here by the mean of
the history, so the numbers can be worked out by hand."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest

from crm.errors import PermissionDenied, ValidationFailed
from crm.extensions import db
from planning_bridge import history, settings
from planning_bridge.contracts import BaselineForecast
from planning_bridge.services import (
    actuals_by_family,
    demand_input,
    family_settings,
    import_actuals_csv,
    list_outliers,
    save_family_setting,
    set_outlier_override,
)
from tests.planning_bridge.conftest import at

TODAY = date(2026, 1, 15)
NOW = datetime(2026, 1, 15, 9, tzinfo=timezone.utc)
seen_histories = []


def mean_baseline(values, horizon):
    seen_histories.append(values)
    level = sum(values) / len(values)
    return BaselineForecast((level,) * len(values), (level,) * horizon, "mean")


@pytest.fixture
def business(monkeypatch, deal_at, close_at, families):
    """PUMP orders of 100 a month through 2025, of which a won CRM deal brought 10 in June
    (closed 2025-05-20 + 30 days); an open PUMP deal of 20 at 0.75 due in March 2026."""
    seen_histories.clear()
    monkeypatch.setattr(history, "forecast", mean_baseline)
    rows = "".join(f"PUMP,2025-{m:02d},100,\n" for m in range(1, 13))
    import_actuals_csv(io.BytesIO(("family,period,units,revenue\n" + rows).encode()))
    won = deal_at(at(date(2025, 4, 1)), 3, date(2025, 5, 20), [("PUMP", 10, 100)])
    close_at(won, at(date(2025, 5, 20)), won=True)
    deal_at(at(date(2026, 1, 5)), 3, date(2026, 2, 10), [("PUMP", 20, 100)])
    db.session.commit()


def march():
    rows = demand_input(start="2026-03", end="2026-03", probabilities="stage", families=["PUMP"], today=TODAY)
    return rows[0]


def test_baseline_plus_pipeline_takes_the_won_deals_out_of_the_baseline(business):
    row = march()
    other = (11 * 100 + 90) / 12
    assert row.baseline_units == pytest.approx(other)
    assert row.weighted_units == 15
    assert row.demand_input_units == pytest.approx(other + 15)
    assert (90.0 in seen_histories[-1]) or any(90.0 in h for h in seen_histories)


def test_the_pipeline_rule_shows_the_full_baseline_for_reference_only(business, pat):
    save_family_setting(pat, "PUMP", "pipeline", now=NOW)
    row = march()
    assert (row.baseline_units, row.demand_input_units) == (100, 15)


def test_the_baseline_rule_ignores_the_pipeline(business, admin):
    save_family_setting(admin, "PUMP", "baseline", now=NOW)
    assert march().demand_input_units == 100


def test_months_with_actuals_show_the_fitted_baseline(business):
    rows = demand_input(start="2025-11", end="2026-01", probabilities="stage", families=["PUMP"], today=TODAY)
    assert [r.baseline_units for r in rows] == [pytest.approx((11 * 100 + 90) / 12)] * 3


def test_settings_default_and_are_guarded(business, alice, pat):
    defaults = {s.family: s for s in family_settings()}
    assert defaults["PUMP"].combine_rule == "baseline_plus_pipeline" and defaults["PUMP"].is_default
    assert defaults["PUMP"].commit_stage == "Negotiation"
    with pytest.raises(PermissionDenied):
        save_family_setting(alice, "PUMP", "pipeline", now=NOW)
    with pytest.raises(ValidationFailed) as caught:
        save_family_setting(pat, "PUMP", "guess", "Nowhere", now=NOW)
    assert set(caught.value.fields) == {"combine_rule", "commit_stage"}
    saved = save_family_setting(pat, "PUMP", "pipeline", "Proposal", now=NOW)
    assert (saved.commit_stage, saved.is_default) == ("Proposal", False)


def test_a_later_commit_stage_counts_fewer_deals(business, pat, deal_at):
    deal_at(at(date(2026, 1, 6)), 2, date(2026, 2, 12), [("PUMP", 7, 100)])  # Proposal
    assert march().commit_units == 20
    save_family_setting(pat, "PUMP", "baseline_plus_pipeline", "Proposal", now=NOW)
    assert march().commit_units == 27


def test_an_accepted_outlier_feeds_the_baseline_but_the_actual_is_kept(business, pat, monkeypatch):
    import_actuals_csv(io.BytesIO(b"family,period,units,revenue\nPUMP,2025-08,460,\n"))
    monkeypatch.setattr(settings, "flag_outliers", lambda raw: (7,))  # August
    [flag] = list_outliers("PUMP", as_of=TODAY)
    assert (flag.period, flag.flagged, flag.original_units, flag.accepted) == ("2025-08", True, 460, None)
    assert flag.suggested_units == pytest.approx((11 * 100 + 460) / 12)  # fitted on all actuals
    decided = set_outlier_override(pat, "PUMP", "2025-08", True, None, NOW)
    assert decided.accepted and decided.effective_units == pytest.approx(flag.suggested_units)
    assert decided.decided_by == "Pat Planner"
    corrected = set_outlier_override(pat, "PUMP", "2025-08", True, 100.0, NOW)
    assert corrected.effective_units == 100 and corrected.original_units == 460
    assert march().baseline_units == pytest.approx((11 * 100 + 90) / 12)
    assert actuals_by_family("2025-08", "2025-08")["PUMP"] == {"2025-08": 460}


def test_rejecting_a_flag_keeps_the_original(business, pat, monkeypatch):
    import_actuals_csv(io.BytesIO(b"family,period,units,revenue\nPUMP,2025-08,460,\n"))
    monkeypatch.setattr(settings, "flag_outliers", lambda raw: (7,))
    flag = set_outlier_override(pat, "PUMP", "2025-08", False, None, NOW)
    assert flag.effective_units == 460 and flag.accepted is False


def test_outlier_decisions_need_a_month_with_actuals(business, pat, alice):
    with pytest.raises(ValidationFailed):
        set_outlier_override(pat, "PUMP", "2024-02", True, None, NOW)
    with pytest.raises(ValidationFailed):
        set_outlier_override(pat, "PUMP", "2025-02", True, -3, NOW)
    with pytest.raises(PermissionDenied):
        set_outlier_override(alice, "PUMP", "2025-02", True, None, NOW)
