"""The monthly cycle: opening (by hand and by the month-end job, relative to the frozen
clock), data gathering, step transitions in order, overrides kept with their reason and the
number they replaced, pre-meeting verdicts, decisions, and who may do what."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.errors import Conflict, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.scheduler import job_table
from planning_bridge.models import Snapshot
from planning_bridge.periods import last_day, month_index, period_text
from planning_bridge.sop import jobs, services
from planning_bridge.sop.models import Cycle, DemandOverride
from planning_bridge.sop.review import Price
from tests.conftest import NOW
from tests.planning_bridge.conftest import at
from tests.planning_bridge.sop.conftest import CYCLE_MONTH, FIRST, SECOND


def test_opening_gathers_the_data_and_starts_the_demand_review(call, pat, families, stages):
    body = call(pat, "POST", "/cycles", json={"month": CYCLE_MONTH}).get_json()
    assert body["month"] == CYCLE_MONTH and body["horizon"][0] == FIRST and len(body["horizon"]) == 18
    assert [(s["step"], s["status"]) for s in body["steps"]] == [
        ("data_gathering", "done"), ("demand_review", "in_progress"), ("supply_review", "pending"),
        ("pre_meeting", "pending"), ("executive_meeting", "pending")]
    month_end = last_day(month_index(NOW.date()) - 1)
    assert [s["due_on"] for s in body["steps"]] == [
        (month_end + timedelta(days=d)).isoformat() for d in (3, 8, 12, 15, 20)]
    snapshot = db.session.get(Snapshot, body["snapshot_id"])
    assert (snapshot.start_period, snapshot.end_period, snapshot.as_of) == (FIRST, body["horizon"][-1], NOW.date())
    assert body["gathering"]["as_of"] == NOW.date().isoformat() and "accuracy" in body["gathering"]
    assert call(pat, "POST", "/cycles", json={"month": CYCLE_MONTH}).status_code == 409


@pytest.mark.parametrize("month", ["2026-13", "03-2026", period_text(month_index(NOW.date()) + 1)])
def test_a_cycle_month_must_be_a_month_that_has_begun(call, pat, families, month):
    response = call(pat, "POST", "/cycles", json={"month": month})
    assert response.status_code == 422 and "month" in str(response.get_json()["error"]["fields"])


def test_the_month_end_job_opens_the_cycle_of_the_month_just_ended_once(clock, families, stages):
    next_month_start = last_day(month_index(NOW.date())) + timedelta(days=1)
    moment = at(next_month_start, 3)
    clock.freeze(moment)
    assert jobs.open_month_end_cycle(moment) == period_text(month_index(NOW.date()))
    db.session.commit()
    assert jobs.open_month_end_cycle(moment) is None  # idempotent
    cycle = db.session.query(Cycle).one()
    assert cycle.steps[0].status == "done" and cycle.steps[0].done_by_id is None
    assert cycle.opened_by_id is None and cycle.snapshot_id is not None


def test_the_job_is_in_the_worker_table():
    assert jobs.MONTH_END_CYCLE in {job.id for job in job_table()}


def test_steps_run_in_order(call, pat, cycle):
    path = f"/cycles/{CYCLE_MONTH}/steps"
    assert call(pat, "POST", f"{path}/pre_meeting", json={"action": "start"}).status_code == 409
    assert call(pat, "POST", f"{path}/demand_review", json={"action": "complete", "note": "ok"}).status_code == 200
    assert call(pat, "POST", f"{path}/demand_review", json={"action": "complete"}).status_code == 409
    body = call(pat, "POST", f"{path}/supply_review", json={"action": "start"}).get_json()
    assert body["current_step"] == "supply_review"
    assert call(pat, "POST", f"{path}/nonsense", json={"action": "start"}).status_code == 422
    assert call(pat, "POST", f"{path}/supply_review", json={"action": "fly"}).status_code == 422
    reopened = call(pat, "POST", f"{path}/demand_review", json={"action": "reopen"}).get_json()
    assert [s["status"] for s in reopened["steps"]][1:3] == ["in_progress", "pending"]


def test_the_executive_meeting_closes_only_once_the_plan_is_published(call, pat, cycle):
    path = f"/cycles/{CYCLE_MONTH}/steps"
    for step in ("demand_review", "supply_review", "pre_meeting"):
        assert call(pat, "POST", f"{path}/{step}", json={"action": "complete"}).status_code == 200
    assert call(pat, "POST", f"{path}/executive_meeting", json={"action": "complete"}).status_code == 409
    assert call(pat, "POST", f"/cycles/{CYCLE_MONTH}/publish").status_code == 201
    body = call(pat, "POST", f"{path}/executive_meeting", json={"action": "complete"}).get_json()
    assert body["current_step"] is None
    assert call(pat, "POST", f"{path}/pre_meeting", json={"action": "reopen"}).status_code == 409


def test_overrides_keep_who_why_and_the_number_replaced(call, pat, cycle):
    path = f"/cycles/{CYCLE_MONTH}/overrides"
    first = call(pat, "POST", path, json={"family": "PUMP", "period": SECOND, "units": 40, "reason": "promotion"})
    assert first.status_code == 201
    assert (first.get_json()["replaced_units"], first.get_json()["created_by_id"]) == (0.0, pat.id)
    second = call(pat, "POST", path, json={"family": "PUMP", "period": SECOND, "units": 25, "reason": "lost account"})
    assert second.get_json()["replaced_units"] == 40.0
    history = call(pat, "GET", path).get_json()["items"]
    assert [(o["units"], o["replaced_units"], o["reason"]) for o in history] == [
        (25.0, 40.0, "lost account"), (40.0, 0.0, "promotion")]
    demand = call(pat, "GET", f"/cycles/{CYCLE_MONTH}/demand").get_json()["cells"]
    cell = next(c for c in demand if (c["family"], c["period"]) == ("PUMP", SECOND))
    assert (cell["demand_units"], cell["statistical_units"], cell["override_reason"]) == (25.0, 0.0, "lost account")
    assert db.session.query(DemandOverride).count() == 2


@pytest.mark.parametrize("change, field", [
    ({"reason": "   "}, "reason"), ({"period": "1999-01"}, "period"), ({"family": "NOPE"}, "family"),
])
def test_an_override_needs_its_reason_a_known_family_and_a_month_of_the_horizon(pat, cycle, change, field):
    data = {"family": "PUMP", "period": FIRST, "units": 5, "reason": "launch", **change}
    with pytest.raises(ValidationFailed) as raised:
        services.add_override(pat, CYCLE_MONTH, data["family"], data["period"], data["units"], data["reason"], NOW)
    assert field in raised.value.fields


def test_the_demand_plan_in_money_uses_the_won_deals_price_or_the_entered_one(pat, cycle, deal_at, close_at):
    day = last_day(month_index(NOW.date()) - 1) - timedelta(days=3)  # inside the cycle's month
    deal = deal_at(at(day - timedelta(days=10)), 2, day, [("PUMP", 4, 250)])
    close_at(deal, at(day), True, closed_on=day)
    services.add_override(pat, CYCLE_MONTH, "PUMP", FIRST, 10, "launch", NOW)
    cell = next(c for c in services.demand_plan(cycle) if (c.family, c.period) == ("PUMP", FIRST))
    assert (cell.price, cell.revenue) == (Decimal("250.00"), Decimal("2500.00"))
    assert services.family_prices(cycle)["PUMP"].source == "won deals"
    services.set_family_supply(pat, CYCLE_MONTH, "PUMP", NOW, strategy="make_to_order", unit_price="300")
    assert next(c.revenue for c in services.demand_plan(cycle) if (c.family, c.period) == ("PUMP", FIRST)) == 3000
    assert services.family_prices(cycle)["VALVE"].source == "none"


def test_supply_projects_inventory_for_make_to_stock_and_backlog_for_make_to_order(pat, cycle):
    for period, units in ((FIRST, 10), (SECOND, 10)):
        services.add_override(pat, CYCLE_MONTH, "PUMP", period, units, "plan", NOW)
        services.add_override(pat, CYCLE_MONTH, "VALVE", period, units, "plan", NOW)
    services.set_capacity(pat, CYCLE_MONTH, [
        {"family": f, "period": p, "units": u} for f in ("PUMP", "VALVE") for p, u in ((FIRST, 6), (SECOND, 12))], NOW)
    services.set_family_supply(pat, CYCLE_MONTH, "VALVE", NOW, strategy="make_to_stock", target_inventory=5,
                               opening_inventory=8)
    view = {f.family: f for f in services.supply_view(cycle)}
    pump, valve = view["PUMP"].months, view["VALVE"].months
    assert [(m.shortfall_units, m.backlog_units) for m in pump[:2]] == [(4, 4), (0, 2)]
    assert [(m.inventory_units, m.below_target) for m in valve[:2]] == [(4, True), (6, False)]  # 8+6-10, 4+12-10
    assert view["PUMP"].months_over_capacity == 1 and pump[2].capacity_units is None


def test_target_inventory_is_for_make_to_stock_only(pat, cycle):
    with pytest.raises(ValidationFailed) as raised:
        services.set_family_supply(pat, CYCLE_MONTH, "PUMP", NOW, strategy="make_to_order", target_inventory=5)
    assert "target_inventory" in raised.value.fields


def test_escalated_families_form_the_agenda_and_need_a_note(call, pat, cycle):
    path = f"/cycles/{CYCLE_MONTH}/reviews"
    assert call(pat, "POST", f"{path}/PUMP", json={"status": "escalated"}).status_code == 422
    call(pat, "POST", f"{path}/PUMP", json={"status": "escalated", "note": "add a shift?"})
    call(pat, "POST", f"{path}/VALVE", json={"status": "agreed"})
    summary = call(pat, "GET", f"/cycles/{CYCLE_MONTH}/summary").get_json()
    assert summary["agenda"] == ["PUMP"]
    assert {f["family"]: f["review_status"] for f in summary["families"]} == {"PUMP": "escalated", "VALVE": "agreed"}
    decision = call(pat, "POST", f"/cycles/{CYCLE_MONTH}/decisions", json={"family": "PUMP", "text": "Add a shift"})
    assert decision.status_code == 201
    summary = call(pat, "GET", f"/cycles/{CYCLE_MONTH}/summary").get_json()
    assert [d["text"] for d in next(f for f in summary["families"] if f["family"] == "PUMP")["decisions"]] == [
        "Add a shift"]


def test_the_summary_compares_with_the_last_cycle_and_the_business_plan(pat, cycle, clock):
    services.add_override(pat, CYCLE_MONTH, "PUMP", SECOND, 30, "first plan", NOW)
    services.publish_cycle(pat, CYCLE_MONTH, NOW)
    services.import_business_plan(pat, [{"family": "PUMP", "period": SECOND, "revenue": "900"}], NOW)
    db.session.commit()
    later = NOW + timedelta(days=31)
    clock.freeze(later)
    next_cycle = services.open_cycle(pat, period_text(month_index(NOW.date())), later)
    services.set_family_supply(pat, next_cycle.month, "PUMP", later, strategy="make_to_order", unit_price="20")
    services.add_override(pat, next_cycle.month, "PUMP", SECOND, 45, "second plan", later)
    pump = next(s for s in services.executive_summary(next_cycle) if s.family == "PUMP")
    assert (pump.demand_units, pump.last_cycle_units) == (Decimal(45), Decimal(30))
    assert (pump.revenue, pump.business_plan_revenue) == (Decimal(900), Decimal(900))


# --- who may do what -------------------------------------------------------------------------

def test_reps_and_managers_cannot_touch_the_cycle(call, cycle, alice, mallory):
    for user in (alice, mallory):
        assert call(user, "GET", f"/cycles/{CYCLE_MONTH}").status_code == 403
        assert call(user, "GET", f"/cycles/{CYCLE_MONTH}/finance").status_code == 403
        assert call(user, "POST", f"/cycles/{CYCLE_MONTH}/publish").status_code == 403
        assert call(user, "POST", f"/consensus-plans?cycle={CYCLE_MONTH}", json=[]).status_code == 403
        assert call(user, "POST", f"/cycles/{CYCLE_MONTH}/overrides",
                    json={"family": "PUMP", "period": FIRST, "units": 1, "reason": "x"}).status_code == 403


def test_finance_reads_money_but_does_not_run_the_cycle(call, cycle, finance, pat):
    services.import_business_plan(pat, [{"family": "PUMP", "period": FIRST, "revenue": "100"}], NOW)
    db.session.commit()
    money = call(finance, "GET", f"/cycles/{CYCLE_MONTH}/finance")
    assert money.status_code == 200
    cell = next(c for c in money.get_json()["cells"] if (c["family"], c["period"]) == ("PUMP", FIRST))
    assert cell["business_plan_revenue"] == "100.00"
    assert call(finance, "GET", f"/cycles/{CYCLE_MONTH}/summary").status_code == 200
    assert call(finance, "POST", f"/cycles/{CYCLE_MONTH}/steps/demand_review",
                json={"action": "complete"}).status_code == 403
    assert call(finance, "POST", f"/cycles/{CYCLE_MONTH}/publish").status_code == 403


def test_the_services_check_the_actor_too(cycle, alice, finance):
    for actor in (alice, finance):
        with pytest.raises(PermissionDenied):
            services.publish_cycle(actor, CYCLE_MONTH, NOW)
        with pytest.raises(PermissionDenied):
            services.advance_step(actor, CYCLE_MONTH, "demand_review", "complete", NOW)
    with pytest.raises(PermissionDenied):
        services.require_money_reader(alice)
    services.require_money_reader(finance)


def test_a_published_cycle_refuses_another_change_conflict(pat, cycle):
    services.publish_cycle(pat, CYCLE_MONTH, NOW)
    with pytest.raises(Conflict):
        services.review_family(pat, CYCLE_MONTH, "PUMP", "agreed", None, NOW)


def test_without_won_deals_the_price_comes_from_the_weighted_pipeline(pat, make_deal, stages, families):
    make_deal(stage_id=stages[2].id, expected_close=NOW.date() + timedelta(days=5),
              lines=[{"family": "PUMP", "quantity": 10, "unit_price": "120.00"}])
    opened = services.open_cycle(pat, CYCLE_MONTH, NOW)  # the snapshot sees deals made up to now
    assert services.family_prices(opened)["PUMP"] == Price(Decimal("120.00"), "weighted pipeline")
    cell = next(c for c in services.demand_plan(opened) if c.family == "PUMP" and c.weighted_units)
    assert (cell.weighted_units, cell.revenue) == (Decimal("5.000"), Decimal("600.00"))  # 10 x 50 %
