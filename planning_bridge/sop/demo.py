"""The demo company's S&OP cycle (``crm seed-demo``): the cycle of the month before ``today``,
run to the end by the admin (the demo planner is created last, as the demo's completion mark):
production strategies, capacity that is tight for pumps in the coming months and generous for
sensors and valves (so sales see holds and spare-capacity boosts), an override with its
assumption, the business plan, one family escalated, a decision and the published plan."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from planning_bridge.periods import month_index, period_text
from planning_bridge.sop import services
from planning_bridge.sop.review import money, units

# strategy, target inventory, capacity as a share of demand (first three months, later ones)
SUPPLY = {
    "PUMP": ("make_to_order", None, Decimal("0.8"), Decimal("1.15")),
    "VALVE": ("make_to_stock", Decimal(40), Decimal("1.4"), Decimal("1.4")),
    "SENSOR": ("make_to_stock", Decimal(80), Decimal("1.6"), Decimal("1.5")),
    "CTRL": ("assemble_to_order", None, Decimal("1.0"), Decimal("1.1")),
}
BUSINESS_PLAN_STRETCH = Decimal("1.08")


def seed(actors, today, now: datetime) -> dict[str, int]:
    admin = actors["admin"]
    month = period_text(month_index(today) - 1)
    cycle = services.open_cycle(admin, month, now)
    families = list(services.cycle_families(cycle))
    for code in families:
        strategy, target, _near, _far = SUPPLY.get(code, ("make_to_order", None, 1, 1))
        services.set_family_supply(admin, month, code, now, strategy=strategy, target_inventory=target,
                                   opening_inventory=target or 0)
    _override(admin, cycle, now)
    services.set_capacity(admin, month, _capacity_rows(cycle), now)
    _business_plan(admin, cycle, now)
    for step in ("demand_review", "supply_review"):
        services.advance_step(admin, month, step, "complete", now)
    for code in families:
        if code == "PUMP":
            services.review_family(admin, month, code, "escalated",
                                   "Demand exceeds capacity for three months: add a shift or promise later dates?", now)
        else:
            services.review_family(admin, month, code, "agreed", None, now)
    services.advance_step(admin, month, "pre_meeting", "complete", now)
    services.record_decision(admin, month, "PUMP" if "PUMP" in families else None,
                             "Keep pump capacity; sales promise the earliest month the plant can meet.", now)
    version = services.publish_cycle(admin, month, now)
    services.advance_step(admin, month, "executive_meeting", "complete", now, note="Plan published.")
    return {"sop_cycles": 1, "sop_plan_cells": len(version.cells)}


def _override(admin, cycle, now: datetime) -> None:
    cells = [c for c in services.demand_plan(cycle) if c.family == "SENSOR"]
    if len(cells) > 1:
        cell = cells[1]
        raised = units(cell.demand_units * Decimal("1.25") + 10)
        services.add_override(admin, cycle.month, "SENSOR", cell.period, raised,
                              "Promotion on flow meters: +25% plus the trade-show leads", now)


def _capacity_rows(cycle) -> list[dict]:
    cells = services.demand_plan(cycle)
    rows = []
    for code in {c.family for c in cells}:
        mine = [c for c in cells if c.family == code]
        typical = sum((c.demand_units for c in mine), Decimal(0)) / len(mine)
        _strategy, _target, near, far = SUPPLY.get(code, ("make_to_order", None, Decimal(1), Decimal(1)))
        for position, cell in enumerate(mine):
            # A plant makes about the same every month: the typical month, or more when asked.
            factor = near if position < 3 else far
            basis = max(cell.demand_units, typical)
            rows.append({"family": code, "period": cell.period, "units": (basis * factor).quantize(Decimal(1))})
    return rows


def _business_plan(admin, cycle, now: datetime) -> None:
    rows = [{"family": c.family, "period": c.period, "revenue": str(money(c.revenue * BUSINESS_PLAN_STRETCH))}
            for c in services.demand_plan(cycle) if c.revenue is not None]
    if rows:
        result = services.import_business_plan(admin, rows, now)
        assert not result.rejected, result.rejected
