"""Property: on the same input, the optimal plan never costs more than chase, level or any
planner's plan (each is a feasible point of the same program, priced the same way), and every
plan's cost breakdown adds up to its total."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from planning_bridge.supply.model import Costs, Scenario, price_plan, solve, unit_costs
from planning_bridge.supply.strategies import chase_plan, level_plan, planner_plan

money = st.floats(min_value=0, max_value=200, allow_nan=False, allow_infinity=False)


@st.composite
def scenarios(draw):
    months = draw(st.integers(1, 6))
    integer = draw(st.booleans())
    demand = draw(st.lists(st.floats(0, 2000, allow_nan=False), min_size=months, max_size=months))
    costs = Costs(material=draw(money), holding=draw(money), backlog=draw(money), hiring=draw(money) * 10,
                  layoff=draw(money) * 10, regular_hourly=draw(money), overtime_hourly=draw(money),
                  subcontract=draw(money))
    s = Scenario(
        periods=tuple(f"2027-{m:02d}" for m in range(1, months + 1)), demand=tuple(demand), price=50.0, costs=costs,
        labour_hours_per_unit=draw(st.floats(0.5, 8)), hours_per_worker_month=draw(st.floats(80, 200)),
        max_overtime_hours_per_worker=draw(st.floats(0, 40)),
        start_workers=float(draw(st.integers(0, 30))), start_inventory=draw(st.floats(0, 500)),
        start_backlog=draw(st.floats(0, 200)), min_end_inventory=draw(st.floats(0, 300)),
        max_end_backlog=draw(st.floats(0, 100)), integer_workers=integer,
    )
    workforce = draw(st.lists(st.integers(0, 40), min_size=months, max_size=months))
    return s, [float(w) for w in workforce]


def slack(s: Scenario, cost: Decimal) -> Decimal:
    """What pricing and solving may add: every quantity is priced to the thousandth (half a
    thousandth off, either way, for each of the two plans, times its unit cost), each part to
    the cent, and HiGHS stops a whole-worker MIP within a relative gap of 1e-6 (``MIP_GAP``)."""
    rounding = Decimal(repr(float(unit_costs(s).sum()))) * s.months * Decimal("0.001")
    return Decimal("0.2") + rounding + abs(cost) * Decimal("2e-6")


# Found by this test: a demand of 1e-05 units with 400 units per worker rounded to no worker
# at all, so "level" left a backlog of 1e-05 units and refused the plan.
TINY_DEMAND = (Scenario(
    periods=("2027-01", "2027-02"), demand=(1e-05, 0.0), price=50.0, costs=Costs(*(1.0,) * 8),
    labour_hours_per_unit=0.5, hours_per_worker_month=200.0, max_overtime_hours_per_worker=0.0,
    start_workers=0.0, start_inventory=0.0, start_backlog=0.0, min_end_inventory=0.0,
    max_end_backlog=0.0, integer_workers=True), [0.0, 1.0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
@example(TINY_DEMAND)
def test_optimal_is_never_above_chase_level_or_a_planners_plan(case):
    s, workforce = case
    optimal = price_plan(s, solve(s), "optimal")
    others = [price_plan(s, chase_plan(s), "chase"), price_plan(s, level_plan(s), "level"),
              price_plan(s, planner_plan(s, workforce), "planner")]
    for plan in [optimal, *others]:
        assert sum(plan.cost_breakdown.values()) == plan.total_cost
    for plan in others:
        assert optimal.total_cost <= plan.total_cost + slack(s, plan.total_cost), (plan.strategy, s, workforce)
