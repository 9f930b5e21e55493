"""POST /api/v1/planning/aggregate-plans, the family cost settings and "use this plan" in a
cycle, through the API: answers, 422s naming the field, roles."""
from __future__ import annotations

from decimal import Decimal

import pytest

from crm.extensions import db
from planning_bridge.sop import services as sop
from tests.planning_bridge.sop.conftest import CYCLE_MONTH, FIRST
from tests.planning_bridge.supply.scenarios import RED_TOMATO


def post(call, user, body):
    return call(user, "POST", "/aggregate-plans", json=body)


def test_strategies_side_by_side_with_promotions(call, pat):
    body = {**RED_TOMATO, "strategies": ["optimal", "chase", "level"],
            "promotions": [{"period": "2027-01", "price_discount": 1, "lift": 0.1, "forward_buy_share": 0.2,
                            "forward_buy_months": 2},
                           {"period": "2027-04", "price_discount": 1, "lift": 0.1, "forward_buy_share": 0.2,
                            "forward_buy_months": 2}]}
    response = post(call, pat, body)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert set(data["strategies"]) == {"optimal", "chase", "level"}
    optimal, chase = data["strategies"]["optimal"], data["strategies"]["chase"]
    assert Decimal(optimal["total_cost"]) <= Decimal(chase["total_cost"])
    assert sum(Decimal(v) for v in optimal["cost_breakdown"].values()) == Decimal(optimal["total_cost"])
    assert Decimal(optimal["revenue"]) == Decimal("640000.00")
    assert len(optimal["months"]) == 6 and optimal["months"][0]["period"] == "2027-01"
    assert [p["period"] for p in data["promotions"]] == ["2027-01", "2027-04"]
    january, april = data["promotions"]
    assert january["strategy"] == "optimal" and january["demand"][0] == 3000
    assert Decimal(january["profit"]) == Decimal("221485.00")
    assert Decimal(january["profit_change"]) > 0 > Decimal(april["profit_change"])
    assert "base currency" in data["currency_note"]


def test_planners_plan_and_integer_workers(call, pat):
    body = {**RED_TOMATO, "integer_workers": True, "strategies": ["optimal", "planner"],
            "planner_workforce": [80, 80, 80, 80, 80, 80]}
    data = post(call, pat, body).get_json()
    assert Decimal(data["strategies"]["optimal"]["total_cost"]) == Decimal("422660.00")
    planner = data["strategies"]["planner"]
    assert planner["feasible"] and [m["workers"] for m in planner["months"]] == [80] * 6
    assert Decimal(planner["total_cost"]) >= Decimal("422660.00")


@pytest.mark.parametrize(("change", "field"), [
    ({"costs": {**RED_TOMATO["costs"], "holding": -1}}, "costs.holding"),
    ({"demand": [1, 2, 3]}, "demand"),
    ({"surprise": 1}, "surprise"),
    ({"costs": {**RED_TOMATO["costs"], "bonus": 1}}, "costs.bonus"),
    ({"periods": ["2027-01", "2027-03", "2027-04", "2027-05", "2027-06", "2027-07"]}, "periods"),
    ({"promotions": [{"period": "2030-01", "price_discount": 1, "lift": 0.1}]}, "promotions.0.period"),
    ({"strategies": ["planner"]}, "planner_workforce"),
    ({"labour_hours_per_unit": 0}, "labour_hours_per_unit"),
])
def test_bad_input_is_422_with_the_field_named(call, pat, change, field):
    response = post(call, pat, {**RED_TOMATO, **change})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"], response.get_json()


def test_a_scenario_without_a_plan_is_explained(call, pat):
    body = {**RED_TOMATO, "limits": {"max_workforce": 40, "max_subcontract": 0}}
    response = post(call, pat, body)
    assert response.status_code == 422
    reason = response.get_json()["error"]["fields"]["limits"]
    assert "demand cannot be met" in reason and "raise the maximum workforce" in reason


def test_a_strategy_breaking_a_limit_says_why(call, pat):
    body = {**RED_TOMATO, "limits": {"max_workforce": 90}}
    data = post(call, pat, body).get_json()
    assert data["strategies"]["optimal"]["feasible"]
    chase = data["strategies"]["chase"]
    assert not chase["feasible"] and "above the maximum workforce of 90" in chase["reasons"][0]
    assert chase["total_cost"] is None and chase["months"] == []


def test_sales_may_not_run_scenarios_finance_may(call, alice, finance):
    assert post(call, alice, RED_TOMATO).status_code == 403
    assert post(call, finance, RED_TOMATO).status_code == 200


def test_family_cost_settings(call, pat, finance, families):
    defaults = call(pat, "GET", "/families/PUMP/supply-costs").get_json()
    assert defaults["entered"] is False and defaults["settings"]["hours_per_worker_month"] == 160
    settings = {**RED_TOMATO["costs"], "labour_hours_per_unit": 4, "hours_per_worker_month": 160,
                "max_overtime_hours_per_worker": 10, "start_workers": 80, "price": 40, "max_workforce": 120}
    saved = call(pat, "PUT", "/families/PUMP/supply-costs", json=settings)
    assert saved.status_code == 200 and saved.get_json()["entered"] is True
    assert saved.get_json()["settings"]["max_workforce"] == 120
    assert call(finance, "PUT", "/families/PUMP/supply-costs", json=settings).status_code == 403
    bad = call(pat, "PUT", "/families/PUMP/supply-costs", json={**settings, "holding": -2})
    assert bad.status_code == 422 and "holding" in bad.get_json()["error"]["fields"]
    assert call(pat, "GET", "/families/NOPE/supply-costs").status_code == 404


def test_use_this_plan_is_stored_with_the_cycle(call, pat, cycle):
    scenario = {**RED_TOMATO, "periods": _consecutive(FIRST, 6)}
    response = call(pat, "POST", f"/cycles/{CYCLE_MONTH}/supply-plans",
                    json={"family": "PUMP", "strategy": "level", "scenario": scenario})
    assert response.status_code == 201, response.get_json()
    chosen = response.get_json()
    assert chosen["strategy"] == "level" and chosen["plan"]["strategy"] == "level"
    listed = call(pat, "GET", f"/cycles/{CYCLE_MONTH}/supply-plans").get_json()["items"]
    assert [item["id"] for item in listed] == [chosen["id"]]
    assert call(pat, "GET", "/cycles/2999-99/supply-plans").status_code == 404
    unknown = call(pat, "POST", f"/cycles/{CYCLE_MONTH}/supply-plans",
                   json={"family": "NOPE", "strategy": "level", "scenario": scenario})
    assert unknown.status_code == 404


def test_a_published_cycle_takes_no_new_plan(call, pat, cycle):
    sop.publish_cycle(pat, CYCLE_MONTH, cycle.opened_at)
    db.session.commit()
    scenario = {**RED_TOMATO, "periods": _consecutive(FIRST, 6)}
    response = call(pat, "POST", f"/cycles/{CYCLE_MONTH}/supply-plans",
                    json={"family": "PUMP", "strategy": "optimal", "scenario": scenario})
    assert response.status_code == 409


def _consecutive(first: str, count: int) -> list[str]:
    year, month = map(int, first.split("-"))
    periods = []
    for _ in range(count):
        periods.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return periods
