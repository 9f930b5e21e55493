"""Supply scenarios' tables (migration ``20261214_22_supply_scenarios``). Like the rest of
the bridge they point at no CRM table: families are codes, users plain ids.

* ``supply_family_costs``: each family's cost settings, edited by planners on the family page
  (a family without a row plans with ``DEFAULT_COSTS``). Money in the base currency.
* ``supply_cycle_plans``: the scenario a planner chose in a cycle's supply review ("use this
  plan"): its input and the priced plan, kept as chosen. Never updated: choosing again adds a
  row, the latest per family is the one in force and the earlier ones are the history.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from planning_bridge.crm_port import JSONType, Model, UTCDateTime

RATE = Numeric(14, 4)
QUANTITY = Numeric(16, 3)
MONEY = Numeric(16, 2)
CHOSEN_STRATEGIES = ("optimal", "chase", "level", "planner")

# What a family plans with until a planner enters its own numbers: a plant paying 20 an
# hour for 160 regular hours a month and 30 for overtime (10 hours at most per worker), 4
# labour hours a unit, hiring at 1,000 and layoffs at 2,000 a worker, holding at 2 and
# backlog at 5 per unit-month, subcontracting at 120 a unit. Round numbers a planner replaces.
DEFAULT_COSTS: dict[str, Decimal] = {
    "material": Decimal("30"), "holding": Decimal("2"), "backlog": Decimal("5"), "hiring": Decimal("1000"),
    "layoff": Decimal("2000"), "regular_hourly": Decimal("20"), "overtime_hourly": Decimal("30"),
    "subcontract": Decimal("120"), "labour_hours_per_unit": Decimal("4"), "hours_per_worker_month": Decimal("160"),
    "max_overtime_hours_per_worker": Decimal("10"),
}
COST_FIELDS = ("material", "holding", "backlog", "hiring", "layoff", "regular_hourly", "overtime_hourly",
               "subcontract")
LIMIT_FIELDS = ("max_workforce", "max_subcontract", "max_inventory")


class FamilyCosts(Model):
    __tablename__ = "supply_family_costs"
    __table_args__ = tuple(
        CheckConstraint(f"{name} >= 0", name=f"{name}_nonnegative")
        for name in COST_FIELDS + ("start_workers", "max_overtime_hours_per_worker")
    ) + (
        CheckConstraint("labour_hours_per_unit > 0", name="labour_hours_positive"),
        CheckConstraint("hours_per_worker_month > 0", name="hours_positive"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(40), unique=True)
    price: Mapped[Decimal | None] = mapped_column(MONEY)     # None: the cycle's price for the family
    material: Mapped[Decimal] = mapped_column(RATE)
    holding: Mapped[Decimal] = mapped_column(RATE)
    backlog: Mapped[Decimal] = mapped_column(RATE)
    hiring: Mapped[Decimal] = mapped_column(RATE)
    layoff: Mapped[Decimal] = mapped_column(RATE)
    regular_hourly: Mapped[Decimal] = mapped_column(RATE)
    overtime_hourly: Mapped[Decimal] = mapped_column(RATE)
    subcontract: Mapped[Decimal] = mapped_column(RATE)
    labour_hours_per_unit: Mapped[Decimal] = mapped_column(RATE)
    hours_per_worker_month: Mapped[Decimal] = mapped_column(RATE)
    max_overtime_hours_per_worker: Mapped[Decimal] = mapped_column(RATE)
    start_workers: Mapped[Decimal] = mapped_column(QUANTITY)
    max_workforce: Mapped[Decimal | None] = mapped_column(QUANTITY)
    max_subcontract: Mapped[Decimal | None] = mapped_column(QUANTITY)
    max_inventory: Mapped[Decimal | None] = mapped_column(QUANTITY)
    integer_workers: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChosenPlan(Model):
    __tablename__ = "supply_cycle_plans"
    __table_args__ = (
        CheckConstraint("strategy IN ('optimal', 'chase', 'level', 'planner')", name="strategy"),
        Index("ix_supply_cycle_plans_cycle_family", "cycle_id", "family"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("sop_cycles.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(40))
    strategy: Mapped[str] = mapped_column(String(12))
    promotion_period: Mapped[str | None] = mapped_column(String(7))  # the promotion planned with it, if any
    scenario: Mapped[dict[str, Any]] = mapped_column(JSONType)        # the input, as the API takes it
    plan: Mapped[dict[str, Any]] = mapped_column(JSONType)            # the priced plan, as the API answers it
    total_cost: Mapped[Decimal] = mapped_column(MONEY)
    revenue: Mapped[Decimal] = mapped_column(MONEY)
    profit: Mapped[Decimal] = mapped_column(MONEY)
    chosen_by_id: Mapped[int | None]
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime)
