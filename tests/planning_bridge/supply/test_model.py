"""The aggregate plan's LP and the strategies on cases solved by hand (and the textbook's)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from planning_bridge.supply.inputs import ScenarioIn
from planning_bridge.supply.model import Infeasible, Limits, build_lp, explain_infeasible, price_plan, solve
from planning_bridge.supply.promotions import Promotion, evaluate_promotion, promoted_demand, promotion_revenue
from planning_bridge.supply.strategies import chase_plan, level_plan, planner_plan
from tests.planning_bridge.supply.scenarios import RED_TOMATO, scenario

EXPENSIVE = {"hiring": 10_000, "layoff": 10_000}


def priced(s, plan=None, name="optimal"):
    return price_plan(s, plan if plan is not None else solve(s), name)


def test_one_month_hires_one_worker_rather_than_overtime_or_subcontracting():
    """100 units: a hired worker costs 50 + 1,000 wages + 200 material = 1,250; subcontracting
    2,000; a smaller crew on overtime 1,325."""
    s = scenario(costs={"hiring": 50, "material": 2, "subcontract": 20})
    plan = priced(s)
    assert plan.total_cost == Decimal("1250.00")
    month = plan.months[0]
    assert (month.workers, month.hires, month.regular_units, month.overtime_hours, month.subcontract_units) == (
        Decimal(1), Decimal(1), Decimal(100), Decimal(0), Decimal(0))
    assert plan.cost_breakdown["hiring"] == Decimal("50.00")
    assert plan.cost_breakdown["regular_labour"] == Decimal("1000.00")
    assert plan.cost_breakdown["material"] == Decimal("200.00")


def test_two_months_holding_beats_overtime():
    """Two workers kept (hiring and layoffs dear) make 200 a month; demand 100 then 300. Making
    200 in month 1 and holding 100 costs 2 × 100 = 200; overtime in month 2 would cost 1,500."""
    s = scenario(periods=2, demand=(100, 300), start_workers=2, costs={"holding": 2, **EXPENSIVE})
    plan = priced(s)
    assert [m.inventory for m in plan.months] == [Decimal(100), Decimal(0)]
    assert [m.overtime_hours for m in plan.months] == [Decimal(0), Decimal(0)]
    assert plan.total_cost == Decimal("4200.00")  # 2 workers × 1,000 × 2 months + 200 holding


@pytest.mark.parametrize(("subcontract", "expected", "uses"), [
    (20, Decimal("2500.00"), "subcontract"),   # 1,000 wages + 500 material + 50 × 20
    (40, Decimal("3250.00"), "overtime"),      # 1,000 wages + 750 material + 50 h × 30
])
def test_subcontracting_against_overtime(subcontract, expected, uses):
    """One worker (100 units) and 150 to make: the last 50 by overtime at 30 an hour plus 5 of
    material a unit (35), or subcontracted at ``subcontract`` (material included)."""
    s = scenario(demand=(150,), start_workers=1, max_overtime_hours_per_worker=50,
                 costs={"overtime_hourly": 30, "material": 5, "subcontract": subcontract, **EXPENSIVE})
    plan = priced(s)
    assert plan.total_cost == expected
    month = plan.months[0]
    assert (month.subcontract_units, month.overtime_hours) == (
        (Decimal(50), Decimal(0)) if uses == "subcontract" else (Decimal(0), Decimal(50)))


def test_red_tomato_matches_the_textbook():
    body = ScenarioIn.model_validate(RED_TOMATO)
    continuous = priced(body.scenario())
    assert abs(continuous.total_cost - Decimal("422275")) < 5  # the book rounds its workforce
    whole = ScenarioIn.model_validate({**RED_TOMATO, "integer_workers": True}).scenario()
    integer = priced(whole)
    assert integer.total_cost == Decimal("422660.00")
    assert all(m.workers == m.workers.to_integral_value() for m in integer.months)
    assert integer.total_cost >= continuous.total_cost


def test_integer_workforce_rounds_people_not_units():
    """250 units at 100 a worker: 2.5 workers when people divide, 3 when they don't (the
    cheapest whole crew: 2 workers plus 50 overtime hours costs 2,750; 3 workers 3,000)."""
    s = scenario(demand=(250,), max_overtime_hours_per_worker=25)
    assert priced(s).months[0].workers == Decimal("2.5")
    whole = priced(scenario(demand=(250,), max_overtime_hours_per_worker=25, integer_workers=True))
    assert whole.months[0].workers == Decimal(2) and whole.months[0].overtime_hours == Decimal(50)
    assert whole.total_cost == Decimal("2750.00")


def test_chase_makes_each_months_net_requirement_row_by_row():
    """50 units a worker; 50 in stock, 40 to end with, 3 workers to start."""
    s = scenario(periods=3, demand=(100, 300, 200), start_inventory=50, min_end_inventory=40, start_workers=3,
                 labour_hours_per_unit=2)
    plan = chase_plan(s)
    assert plan.regular_units == (50, 300, 240)
    assert plan.workers == pytest.approx((1, 6, 4.8))
    assert plan.hires == pytest.approx((0, 5, 0)) and plan.layoffs == pytest.approx((2, 0, 1.2))
    assert plan.inventory == pytest.approx((0, 0, 40))
    assert plan.overtime_hours == plan.subcontract_units == plan.backlog == (0, 0, 0)
    whole = chase_plan(scenario(periods=3, demand=(100, 300, 200), start_inventory=50, min_end_inventory=40,
                                start_workers=3, labour_hours_per_unit=2, integer_workers=True))
    assert whole.workers == (1, 6, 5) and whole.regular_units == (50, 300, 240)


def test_level_keeps_one_workforce_and_lets_inventory_and_backlog_absorb():
    s = scenario(periods=3, demand=(100, 300, 200), start_inventory=50, min_end_inventory=40,
                 labour_hours_per_unit=2)
    plan = level_plan(s)
    assert plan.workers == pytest.approx((590 / 150,) * 3)        # (600 + 40 − 50) / (3 × 50)
    assert plan.regular_units == pytest.approx((590 / 3,) * 3)
    assert plan.inventory == pytest.approx((50 + 590 / 3 - 100, 50 + 2 * 590 / 3 - 400, 40))
    assert plan.hires == pytest.approx((590 / 150, 0, 0))
    early_peak = level_plan(scenario(periods=3, demand=(300, 100, 100)))
    assert early_peak.backlog == pytest.approx((300 - 500 / 3, 300 - 2 * 500 / 3 + 100, 0), abs=1e-9)
    assert early_peak.inventory == pytest.approx((0, 0, 0), abs=1e-9)


def test_planners_plan_keeps_the_given_workforce():
    s = scenario(periods=2, demand=(100, 300), costs={"holding": 2, "subcontract": 50})
    plan = planner_plan(s, [2, 2])
    assert plan.workers == pytest.approx((2, 2))
    assert plan.inventory[0] == pytest.approx(100)


@pytest.mark.parametrize("name", ["optimal", "chase", "level"])
def test_cost_breakdown_sums_to_the_total_and_months_to_it_too(name):
    s = ScenarioIn.model_validate(RED_TOMATO).scenario()
    plans = {"optimal": lambda: solve(s), "chase": lambda: chase_plan(s), "level": lambda: level_plan(s)}
    plan = priced(s, plans[name](), name)
    assert sum(plan.cost_breakdown.values()) == plan.total_cost
    assert sum(m.cost for m in plan.months) == plan.total_cost
    assert plan.profit == plan.revenue - plan.total_cost == Decimal(40 * 16000) - plan.total_cost
    opening = [Decimal(1000)] + [m.inventory for m in plan.months[:-1]]
    assert plan.average_inventory == (sum(o + m.inventory for o, m in zip(opening, plan.months)) / 12).quantize(
        Decimal("0.001"), ROUND_HALF_UP)


def test_a_workforce_too_small_without_subcontracting_is_explained():
    s = scenario(periods=2, demand=(500, 500), limits=Limits(max_workforce=3, max_subcontract=0))
    with pytest.raises(Infeasible) as caught:
        solve(s)
    reason = caught.value.fields["limits"]
    assert "demand cannot be met" in reason and "720" in reason and "1,000" in reason  # 3 × 120 × 2 months
    assert "maximum workforce" in reason


def test_an_ending_inventory_above_the_maximum_inventory_is_explained():
    s = scenario(min_end_inventory=50, limits=Limits(max_inventory=20))
    with pytest.raises(Infeasible) as caught:
        explain_infeasible(s)
    assert "end.min_inventory" in caught.value.fields


def test_chase_above_the_maximum_workforce_is_not_feasible_while_optimal_is():
    s = scenario(periods=2, demand=(100, 500), limits=Limits(max_workforce=4))
    assert solve(s).workers[1] <= 4 + 1e-9
    with pytest.raises(Infeasible) as caught:
        chase_plan(s)
    assert "chase needs 5 workers in 2027-02" in caught.value.fields["limits.max_workforce"]


def test_capacity_per_month_limits_in_house_production():
    s = scenario(periods=2, demand=(100, 100), costs={"subcontract": 30},
                 limits=Limits(max_production=(None, 60)))
    plan = solve(s)
    assert plan.regular_units[1] + plan.overtime_hours[1] <= 60 + 1e-6
    assert build_lp(s).A_ub.shape[0] == 2 * 2 + 1


def test_promotion_demand_vector_by_hand():
    promo = Promotion("2027-02", price_discount=5, lift=0.1, forward_buy_share=0.2, forward_buy_months=2)
    demand = promoted_demand((100, 100, 200, 300), 1, promo)
    assert demand == pytest.approx((100, 110 + 40 + 60, 160, 240))
    assert sum(demand) == pytest.approx(700 + 10)   # forward buying moves demand; only the lift adds
    at_the_end = promoted_demand((100, 100, 200, 300), 3, promo)
    assert at_the_end == pytest.approx((100, 100, 200, 330))
    s = scenario(periods=4, demand=demand)
    assert promotion_revenue(s, demand, 1, promo) == Decimal("27350.00")  # 100×40 + 210×35 + 160×40 + 240×40


def test_a_low_season_promotion_pays_and_a_peak_one_does_not():
    s = ScenarioIn.model_validate(RED_TOMATO).scenario()
    base = priced(s)
    january = evaluate_promotion(s, Promotion("2027-01", 1, 0.1, 0.2, 2), base)
    april = evaluate_promotion(s, Promotion("2027-04", 1, 0.1, 0.2, 2), base)
    assert january.demand == pytest.approx((3000, 2400, 2560, 3800, 2200, 2200))
    assert january.plan.profit == Decimal("221485.00")   # the textbook's figure
    assert january.profit_change > 0 > april.profit_change

