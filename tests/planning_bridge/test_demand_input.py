"""The demand input on a handful of deals whose numbers are worked out by hand: probabilities
from the stages (Prospecting 0.1, Qualified 0.25, Proposal 0.5, Negotiation 0.75), lead times
PUMP 30 days and VALVE 14 days, close dates around a year end, today 2026-03-10."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from planning_bridge import inputs
from planning_bridge.contracts import DEMAND_COLUMNS
from planning_bridge.services import demand_input, last_probability_source
from tests.conftest import NOW
from tests.planning_bridge.conftest import at

TODAY = date(2026, 3, 10)


@pytest.fixture
def year_end_pipeline(deal_at, close_at):
    deals = {
        # PUMP 10 @ 0.5: closes 2026-12-10 + 30 days = 2027-01-09
        "d1": deal_at(NOW, 2, date(2026, 12, 10), [("PUMP", 10, 100)]),
        # PUMP 4 @ 0.75: 2026-12-01 + 30 = 2026-12-31, still December
        "d2": deal_at(NOW, 3, date(2026, 12, 1), [("PUMP", 4, 250)]),
        # VALVE 20 @ 0.25: 2026-12-20 + 14 = 2027-01-03; its PUMP 2 line: 2027-01-19
        "d3": deal_at(NOW, 1, date(2026, 12, 20), [("VALVE", 20, 10), ("PUMP", 2, 100)]),
        # overdue: expected 2026-02-01, so taken to close today: 2026-03-10 + 30 = 2026-04-09
        "d6": deal_at(NOW, 1, date(2026, 2, 1), [("PUMP", 5, 100)]),
    }
    lost = deal_at(NOW, 0, date(2026, 12, 15), [("PUMP", 6, 100)])
    won = deal_at(NOW, 3, date(2026, 12, 15), [("PUMP", 8, 100)])
    close_at(lost, NOW, won=False)
    close_at(won, NOW, won=True, closed_on=date(2026, 3, 5))
    return deals


def by_key(rows):
    return {(row.family, row.period): row for row in rows}


def test_weighted_units_and_revenue_cross_the_year_end_as_worked_out(year_end_pipeline):
    rows = by_key(demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY))
    january = rows[("PUMP", "2027-01")]
    assert january.weighted_units == pytest.approx(10 * 0.5 + 2 * 0.25)
    assert january.weighted_revenue == Decimal("550.00")  # 1000 x 0.5 + 200 x 0.25
    assert january.best_case_units == 12
    assert january.commit_units == 0  # commit starts at Negotiation (first stage at 0.75)
    assert january.deal_count == 2
    december = rows[("PUMP", "2026-12")]
    assert (december.weighted_units, december.best_case_units, december.commit_units) == (3, 4, 4)
    assert december.weighted_revenue == Decimal("750.00")
    valve = rows[("VALVE", "2027-01")]
    assert (valve.weighted_units, valve.best_case_units, valve.deal_count) == (5, 20, 1)
    assert rows[("PUMP", "2026-04")].weighted_units == pytest.approx(1.25)


def test_bands_are_the_percentiles_of_the_won_units(year_end_pipeline):
    rows = by_key(demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY))
    # PUMP 2027-01: 0 (p .375), 2 (.125), 10 (.375), 12 (.125): P(S<=0) = .375 >= .1, P(S<=10) = .875 < .9
    assert (rows[("PUMP", "2027-01")].low_units, rows[("PUMP", "2027-01")].high_units) == (0, 12)
    assert (rows[("PUMP", "2026-12")].low_units, rows[("PUMP", "2026-12")].high_units) == (0, 4)
    assert (rows[("VALVE", "2027-01")].low_units, rows[("VALVE", "2027-01")].high_units) == (0, 20)


def test_closed_deals_never_count_whatever_their_stage(year_end_pipeline):
    rows = demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY)
    assert sum(row.best_case_units for row in rows) == 10 + 4 + 20 + 2 + 5  # not the 6 lost, not the 8 won
    assert sum(row.deal_count for row in rows) == 5


def test_without_imported_actuals_the_demand_input_is_the_weighted_pipeline(year_end_pipeline):
    rows = demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY)
    assert all(row.demand_input_units == row.weighted_units for row in rows)
    assert all(row.baseline_units == 0 and row.snapshot_id is None for row in rows)


def test_every_family_and_month_gets_a_row_with_exactly_the_published_columns(year_end_pipeline):
    rows = demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY)
    assert [(r.family, r.period) for r in rows][:2] == [("PUMP", "2026-03"), ("PUMP", "2026-04")]
    assert len(rows) == 2 * 12
    assert tuple(rows[0].__dataclass_fields__) == DEMAND_COLUMNS


def test_aggregating_in_the_database_gives_the_same_numbers(year_end_pipeline, monkeypatch):
    per_deal = demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY)
    monkeypatch.setattr(inputs, "AGGREGATE_ABOVE", 0)
    aggregated = demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY)
    assert aggregated == per_deal


def test_calibrated_falls_back_to_stage_and_says_so_when_history_is_short(year_end_pipeline):
    stage = demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY)
    rows = demand_input(start="2026-03", end="2027-02", probabilities="calibrated", today=TODAY)
    assert rows.probability_source == "stage" and last_probability_source() == "stage"
    assert "closed deals" in rows.probability_method
    assert list(rows) == list(stage)


def test_an_empty_pipeline_gives_zeros_not_errors(families):
    rows = demand_input(start="2026-03", end="2026-05", probabilities="calibrated", today=TODAY)
    assert len(rows) == 6
    assert {(r.weighted_units, r.low_units, r.high_units, r.deal_count, r.demand_input_units)
            for r in rows} == {(0, 0, 0, 0, 0)}
    assert demand_input(start="2026-03", end="2026-05", families=["VALVE"], today=TODAY)[0].family == "VALVE"


def test_no_families_at_all_gives_no_rows(admin):
    assert demand_input(start="2026-03", end="2026-05", today=TODAY) == []


@pytest.mark.parametrize("args, field", [
    ({"start": "2026-13", "end": "2027-01"}, "from"),
    ({"start": "2026-03", "end": "2026-02"}, "to"),
    ({"start": "2026-03", "end": "2036-03"}, "to"),
    ({"start": "2026-03", "end": "2026-04", "probabilities": "reps"}, "probabilities"),
    ({"start": "2026-03", "end": "2026-04", "families": ["NOPE"]}, "family"),
])
def test_bad_arguments_name_the_field(families, args, field):
    from crm.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        demand_input(**args, today=TODAY)
    assert field in caught.value.fields


def test_the_rebuilt_pipeline_of_today_matches_the_live_one(year_end_pipeline):
    live = demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY)
    rebuilt = demand_input(start="2026-03", end="2027-02", probabilities="stage", as_of=TODAY,
                           today=date(2026, 3, 11))
    assert list(rebuilt) == list(live)


def test_a_deal_created_after_the_as_of_date_is_not_there_yet(year_end_pipeline, deal_at):
    deal_at(at(date(2026, 3, 20)), 3, date(2026, 12, 1), [("PUMP", 100, 1)])
    rows = by_key(demand_input(start="2026-12", end="2026-12", probabilities="stage",
                               as_of=date(2026, 3, 15), today=date(2026, 4, 1)))
    assert rows[("PUMP", "2026-12")].best_case_units == 4


def test_a_deactivated_family_shows_only_while_it_holds_demand(year_end_pipeline, admin, families):
    from crm.deals.services import update_family
    from crm.extensions import db

    update_family(admin, families[1].id, {"is_active": False})  # VALVE, still in deal 3
    db.session.commit()
    rows = demand_input(start="2026-03", end="2027-02", probabilities="stage", today=TODAY)
    assert {r.family for r in rows} == {"PUMP", "VALVE"}
    assert {r.family for r in demand_input(start="2026-03", end="2026-04", today=TODAY,
                                           probabilities="stage", as_of=date(2026, 3, 9))} == {"PUMP"}
