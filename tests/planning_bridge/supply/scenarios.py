"""Scenarios the supply tests share, as plain data (the API's shape) and as model inputs."""
from __future__ import annotations

from dataclasses import replace

from planning_bridge.supply.model import Costs, Scenario

# Red Tomato Tools, the aggregate-planning example of Chopra & Meindl, "Supply Chain
# Management: Strategy, Planning, and Operation" (ch. 8-9): six months of seasonal demand,
# 80 workers and 1,000 units to start, 500 units to end with. The book's optimal plan costs
# $422,275 (continuous workforce; $422,660 with whole workers) and its January promotion
# (price $39, 10 % lift, 20 % of the next two months bought early) makes $221,485 of profit.
RED_TOMATO = {
    "periods": ["2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"],
    "demand": [1600, 3000, 3200, 3800, 2200, 2200],
    "price": 40,
    "costs": {"material": 10, "holding": 2, "backlog": 5, "hiring": 300, "layoff": 500,
              "regular_hourly": 4, "overtime_hourly": 6, "subcontract": 30},
    "labour_hours_per_unit": 4, "hours_per_worker_month": 160, "max_overtime_hours_per_worker": 10,
    "start": {"workers": 80, "inventory": 1000, "backlog": 0},
    "end": {"min_inventory": 500, "max_backlog": 0},
}


def scenario(periods=1, demand=(100,), **changes) -> Scenario:
    """A small scenario: one worker makes 100 units a month (1 hour a unit, 100 hours), wages
    10 an hour regular and 15 overtime, subcontracting (1,000 a unit) and backlog (100 a
    unit-month) dear, everything else free unless changed."""
    base = Scenario(
        periods=tuple(f"2027-{m:02d}" for m in range(1, periods + 1)), demand=tuple(float(d) for d in demand),
        price=40.0, costs=Costs(regular_hourly=10, overtime_hourly=15, subcontract=1000, backlog=100),
        labour_hours_per_unit=1.0,
        hours_per_worker_month=100.0, max_overtime_hours_per_worker=20.0,
    )
    costs = changes.pop("costs", None)
    if costs:
        base = replace(base, costs=replace(base.costs, **costs))
    return replace(base, **changes)
