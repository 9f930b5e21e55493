"""What the S&OP side tells sales: the ``PlanFeedback`` provider (``crm.public``), registered
for every app built (``init``, the manifest's setup hook of "sop").

* ``plan(start, end)``: the cells of the plan in force (the latest published version).
* **Committed units**: won deals' units per family and *delivery month* = the month of the
  close day + the family's lead time (the bridge's demand month for every deal, so the plan's
  demand and the commitments against it count months the same way).
* ``capacity_slack(family, month)`` = capacity − planned demand − committed (None without
  capacity for that month).
* ``earliest_month(family, quantity, start)``: available-to-promise. Free capacity of a month
  is capacity − committed (a month without capacity has none).
  *Make-to-order / assemble-to-order*: capacity unused in a month is lost, so the answer is
  the first month ≥ ``start`` whose own free capacity takes ``quantity``.
  *Make-to-stock*: unused capacity becomes stock, so ATP is cumulative: free capacity summed
  from the plan's first month (plus the opening inventory), and a month can promise
  ``quantity`` when that running sum, at that month and every later one, stays ≥ ``quantity``
  (promising must not take stock a later commitment needs). None when no month of the plan's
  horizon can. Families without a strategy in the plan's cycle count as make-to-order.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.periods import first_day, month_index, period_index
from planning_bridge.sop.models import CycleFamily, PlanVersion, PlanVersionCell
from planning_bridge.sop.plans import plan_in_force

ZERO = Decimal(0)


def committed_units(family: str | None = None) -> dict[tuple[str, int], Decimal]:
    """(family, delivery month index) → won units (see the module docstring)."""
    lead_times = {f.code: f.lead_time_days for f in crm_port.product_families()}
    committed: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for won in crm_port.won_line_totals():
        if family is not None and won.family != family:
            continue
        delivery = won.closed_on + timedelta(days=lead_times.get(won.family, 0))
        committed[(won.family, month_index(delivery))] += Decimal(str(won.quantity))
    return committed


@dataclass(frozen=True)
class FamilyMonth:
    month: int                      # month index
    capacity: Decimal | None
    demand: Decimal
    committed: Decimal

    @property
    def free(self) -> Decimal:
        return (self.capacity or ZERO) - self.committed


def earliest_month_index(months: list[FamilyMonth], quantity: Decimal, start: int, *,
                         cumulative: bool, opening: Decimal = ZERO) -> int | None:
    """The ATP rule on plain numbers (``months`` sorted, consecutive): see the docstring."""
    if not cumulative:
        return next((m.month for m in months if m.month >= start and m.capacity is not None
                     and m.free >= quantity), None)
    running, totals = opening, []
    for m in months:
        running += m.free
        totals.append(running)
    for i, m in enumerate(months):
        if m.month >= start and min(totals[i:]) >= quantity:
            return m.month
    return None


class BridgePlanFeedback:
    """Reads the plan in force from the bridge's tables on every call (a few small queries),
    so a plan published or a deal won is seen by the next call."""

    def plan(self, start: date, end: date) -> list[crm_port.PlanCell]:
        version = plan_in_force()
        if version is None:
            return []
        first, last = month_index(start), month_index(end)
        return [_cell(version, c) for c in sorted(version.cells, key=lambda c: (c.family, c.period))
                if first <= period_index(c.period) <= last]

    def capacity_slack(self, family: str, month: date) -> Decimal | None:
        row = next((m for m in self._months(family)[0] if m.month == month_index(month)), None)
        if row is None or row.capacity is None:
            return None
        return row.capacity - row.demand - row.committed

    def earliest_month(self, family: str, quantity: Decimal, start: date) -> date | None:
        months, strategy, opening = self._months(family)
        found = earliest_month_index(months, Decimal(quantity), month_index(start),
                                     cumulative=strategy == "make_to_stock", opening=opening)
        return first_day(found) if found is not None else None

    def _months(self, family: str) -> tuple[list[FamilyMonth], str, Decimal]:
        version = plan_in_force()
        if version is None:
            return [], "make_to_order", ZERO
        cells = crm_port.db.session.scalars(select(PlanVersionCell).where(
            PlanVersionCell.plan_id == version.id, PlanVersionCell.family == family)).all()
        committed = committed_units(family)
        months = sorted((FamilyMonth(period_index(c.period), c.capacity_units, c.demand_units,
                                     committed.get((family, period_index(c.period)), ZERO)) for c in cells),
                        key=lambda m: m.month)
        setting = _family_setting(version, family)
        strategy = setting.strategy if setting else "make_to_order"
        opening = setting.opening_inventory if setting else ZERO
        return months, strategy, opening


def _family_setting(version: PlanVersion, family: str) -> CycleFamily | None:
    return crm_port.db.session.scalar(select(CycleFamily).where(
        CycleFamily.cycle_id == version.cycle_id, CycleFamily.family == family))


def _cell(version: PlanVersion, cell: PlanVersionCell) -> crm_port.PlanCell:
    return crm_port.PlanCell(
        family=cell.family, period=first_day(period_index(cell.period)), demand_units=cell.demand_units,
        capacity_units=cell.capacity_units, revenue=cell.revenue, cycle=version.cycle.month,
        version=version.version)


def init(app: Flask) -> None:
    """The manifest's setup hook: this app's plan feedback comes from the bridge."""
    crm_port.set_plan_feedback(app, BridgePlanFeedback())
