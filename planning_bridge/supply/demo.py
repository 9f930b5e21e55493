"""The demo company's supply cost settings (``crm seed-demo``, after the S&OP cycle's demo
has published its plan): each active family gets the default costs with a workforce sized to
its average planned month, and pumps (tight in the demo's plan) a workforce cap, so the family
pages open on a seasonal plan with optimal, chase and level side by side."""
from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

from planning_bridge import crm_port
from planning_bridge.sop import services as sop
from planning_bridge.supply import services
from planning_bridge.supply.models import DEFAULT_COSTS

UNITS_PER_WORKER = DEFAULT_COSTS["hours_per_worker_month"] / DEFAULT_COSTS["labour_hours_per_unit"]
CAPPED = {"PUMP": Decimal("1.1")}   # max workforce as a multiple of today's


def seed(actors, today, now: datetime) -> dict[str, int]:
    admin = actors["admin"]
    version = sop.plan_in_force()
    cells = version.cells if version is not None else []
    saved = 0
    for family in crm_port.product_families():
        if not family.is_active:
            continue
        demand = [c.demand_units for c in cells if c.family == family.code]
        average = sum(demand, Decimal(0)) / len(demand) if demand else Decimal(0)
        workers = Decimal(math.ceil(average / UNITS_PER_WORKER))
        cap = CAPPED.get(family.code)
        services.save_family_costs(admin, family.code, {
            **{name: value for name, value in DEFAULT_COSTS.items()}, "price": None, "start_workers": workers,
            "max_workforce": (workers * cap).to_integral_value() if cap and workers else None,
            "max_subcontract": None, "max_inventory": None, "integer_workers": True,
        }, now)
        saved += 1
    return {"supply_family_costs": saved}
