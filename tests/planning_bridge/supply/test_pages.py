"""The scenario builder on the family page and in the cycle's supply review: prefilled, the
strategies side by side with their SVG charts, infeasible input explained on the page, cost
settings saved, "use this plan" stored with the cycle; finance reads, sales get 403."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.extensions import db
from planning_bridge.sop import services as sop
from planning_bridge.supply import demo
from planning_bridge.supply.models import ChosenPlan, FamilyCosts
from tests.conftest import NOW, csrf_from
from tests.planning_bridge.sop.conftest import CYCLE_MONTH, FIRST, SECOND


@pytest.fixture
def planner_client(client, login, pat):
    login(client, pat)
    return client


def _seasonal_cycle(pat, cycle):
    """PUMP: demand entered as overrides, a slow start and a peak; capacity in two months."""
    periods = sop.horizon_periods(cycle)[:6]
    for period, units in zip(periods, (60, 80, 150, 200, 120, 60)):
        sop.add_override(pat, CYCLE_MONTH, "PUMP", period, units, "seasonal plan", NOW)
    sop.set_capacity(pat, CYCLE_MONTH, [{"family": "PUMP", "period": FIRST, "units": 500}], NOW)
    db.session.commit()
    return periods


def test_the_cycle_page_prefills_from_the_plan_and_compares_strategies(planner_client, pat, cycle):
    _seasonal_cycle(pat, cycle)
    html = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP").get_data(as_text=True)
    assert 'name="demand-2" value="150"' in html
    assert 'name="capacity-0" value="500"' in html
    assert "Strategies side by side" in html and "<svg" in html and "series-inventory" in html
    assert "Use this plan" in html
    assert "style=" not in html.split("<main", 1)[-1]  # the CSP allows no inline style


def test_the_supply_review_links_to_the_builder(planner_client, cycle):
    html = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/supply").get_data(as_text=True)
    assert f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP" in html


def test_an_infeasible_scenario_is_explained_not_a_traceback(planner_client, pat, cycle):
    periods = _seasonal_cycle(pat, cycle)
    query = {"run": "1", "periods": periods, "price": "40", "material": "10", "holding": "2", "backlog": "5",
             "hiring": "300", "layoff": "500", "regular_hourly": "4", "overtime_hourly": "6", "subcontract": "30",
             "labour_hours_per_unit": "4", "hours_per_worker_month": "160", "max_overtime_hours_per_worker": "10",
             "max_workforce": "1", "max_subcontract": "0",
             **{f"demand-{i}": "100" for i in range(len(periods))}}
    response = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP", query_string=query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "no plan meets this scenario" in html and "demand cannot be met" in html
    bad = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP",
                             query_string={**query, "holding": "-3", "max_workforce": ""})
    assert "costs.holding" in bad.get_data(as_text=True)


def test_promotions_are_priced_against_the_base_case(planner_client, pat, cycle):
    periods = _seasonal_cycle(pat, cycle)
    page = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP").get_data(as_text=True)
    assert "Promotions to try" in page
    query = {"run": "1", "periods": periods, "price": "400", "material": "30", "holding": "2", "backlog": "5",
             "hiring": "1000", "layoff": "2000", "regular_hourly": "20", "overtime_hourly": "30",
             "subcontract": "120", "labour_hours_per_unit": "4", "hours_per_worker_month": "160",
             "max_overtime_hours_per_worker": "10", "start_workers": "2",
             **{f"demand-{i}": str(u) for i, u in enumerate((60, 80, 150, 200, 120, 60))},
             "promo-0-period": periods[0], "promo-0-price_discount": "10", "promo-0-lift": "0.1",
             "promo-0-forward_buy_share": "0.2", "promo-0-forward_buy_months": "2",
             "promo-1-period": periods[3], "promo-1-price_discount": "10", "promo-1-lift": "0.1",
             "promo-1-forward_buy_share": "0.2", "promo-1-forward_buy_months": "2"}
    html = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP", query_string=query).get_data(
        as_text=True)
    assert "Promotions against the base case" in html
    assert html.count('name="promotion_period"') == 2


def test_use_this_plan_stores_it_with_the_cycle(planner_client, pat, cycle):
    _seasonal_cycle(pat, cycle)
    html = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP").get_data(as_text=True)
    start = html.index('name="scenario" value="') + len('name="scenario" value="')
    import html as html_lib
    scenario = html_lib.unescape(html[start:html.index('"', start)])
    response = planner_client.post(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP/use", data={
        "csrf_token": csrf_from(html), "scenario": scenario, "strategy": "chase"}, follow_redirects=True)
    assert "PUMP: Chase plan is stored with the" in response.get_data(as_text=True)
    row = db.session.scalar(select(ChosenPlan))
    assert (row.family, row.strategy, row.cycle_id) == ("PUMP", "chase", cycle.id)
    assert row.scenario["demand"][:3] == [60, 80, 150] and row.plan["strategy"] == "chase"
    assert "Plan in use for this cycle" in response.get_data(as_text=True)
    review = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/supply").get_data(as_text=True)
    assert "In use: Chase plan" in review
    broken = planner_client.post(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP/use", data={
        "csrf_token": csrf_from(html), "scenario": "{not json", "strategy": "chase"}, follow_redirects=True)
    assert "run the scenario again" in broken.get_data(as_text=True)


def test_the_family_page_saves_cost_settings(planner_client, families):
    html = planner_client.get("/planning/supply/families/PUMP").get_data(as_text=True)
    assert "Cost settings" in html and "defaults" in html and "base currency" in html
    values = {"material": "12", "holding": "1.5", "backlog": "4", "hiring": "500", "layoff": "800",
              "regular_hourly": "18", "overtime_hourly": "27", "subcontract": "60", "labour_hours_per_unit": "2",
              "hours_per_worker_month": "150", "max_overtime_hours_per_worker": "12", "start_workers": "9",
              "price": "", "max_workforce": "", "max_subcontract": "", "max_inventory": "", "integer_workers": "1"}
    planner_client.post("/planning/supply/families/PUMP/costs", data={"csrf_token": csrf_from(html), **values})
    row = db.session.scalar(select(FamilyCosts).where(FamilyCosts.family == "PUMP"))
    assert row.holding == Decimal("1.5") and row.integer_workers and row.max_workforce is None
    refused = planner_client.post("/planning/supply/families/PUMP/costs",
                                  data={"csrf_token": csrf_from(html), **values, "holding": "-1"},
                                  follow_redirects=True)
    assert "holding: 0 or more" in refused.get_data(as_text=True)
    page = planner_client.get("/planning/supply/families/PUMP").get_data(as_text=True)
    assert 'name="hours_per_worker_month" min="0" step="any" value="150"' in page
    assert planner_client.get("/planning/supply/families/NOPE").status_code == 404
    assert "PUMP" in planner_client.get("/planning/supply").get_data(as_text=True)


def test_finance_reads_sales_get_403(client, login, make_user, alice, cycle):
    finance = make_user("finance", name="Fiona Finance")
    login(client, finance)
    html = client.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP").get_data(as_text=True)
    assert "Use this plan" not in html
    assert client.get("/planning/supply/families/PUMP").status_code == 200
    other = client.application.test_client()
    login(other, alice)
    assert other.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP").status_code == 403
    assert other.get("/planning/supply/families/PUMP").status_code == 403
    assert SECOND  # the horizon's second month exists (the fixture's cycle plans 18)


def test_the_demo_sizes_each_familys_workforce_and_the_family_page_compares_plans(planner_client, pat, cycle):
    _seasonal_cycle(pat, cycle)
    sop.publish_cycle(pat, CYCLE_MONTH, NOW)
    counts = demo.seed({"admin": pat}, NOW.date(), NOW)
    db.session.commit()
    assert counts == {"supply_family_costs": 2}
    pump = db.session.scalar(select(FamilyCosts).where(FamilyCosts.family == "PUMP"))
    assert pump.start_workers == 1 and pump.max_workforce == 1 and pump.integer_workers
    html = planner_client.get("/planning/supply/families/PUMP").get_data(as_text=True)
    assert f"consensus plan in force ({CYCLE_MONTH} v1)" in html
    assert "Strategies side by side" in html and 'name="demand-2" value="150"' in html
