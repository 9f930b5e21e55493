"""Demand review, supply review, finance view, pre-meeting and the executive summary of one
cycle: what the pages and the API show, computed from the cycle's rows.

* **Demand**: the statistical input frozen at data gathering (the snapshot's
  ``demand_input_units``: baseline and/or weighted pipeline per the family's combine rule), then
  the latest override per family and month. The unconstrained demand plan in money is units ×
  the family's price: the **entered** average price when there is one, else the average price
  of the family's won deals over the twelve months up to the cycle's month, else of its
  weighted pipeline (``family_prices`` says which).
* **Supply**: capacity per month; make-to-stock families project inventory (opening inventory
  + capacity − demand, month by month, against the target), make-to-order and
  assemble-to-order ones project backlog (demand above capacity carried forward, worked off
  when capacity exceeds demand). A month without capacity entered makes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.models import SnapshotRow
from planning_bridge.periods import last_day
from planning_bridge.sop.cycles import (
    check_month,
    get_cycle,
    horizon_periods,
    previous_cycle,
    published_versions,
    require_planner,
)
from planning_bridge.sop.models import (
    REVIEW_STATUSES,
    STRATEGIES,
    BusinessPlanCell,
    Capacity,
    Cycle,
    CycleFamily,
    Decision,
    DemandOverride,
)

UNIT = Decimal("0.001")
CENT = Decimal("0.01")
MAX_UNITS = Decimal("1e12")
MAX_PRICE = Decimal("1e9")
MAX_TEXT = 2000


def units(value) -> Decimal:
    return Decimal(str(value)).quantize(UNIT, ROUND_HALF_UP)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


# --- demand ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemandCell:
    family: str
    period: str
    baseline_units: Decimal
    weighted_units: Decimal
    statistical_units: Decimal       # the demand input frozen at data gathering
    override_units: Decimal | None   # the override in force
    override_reason: str | None
    demand_units: Decimal            # the unconstrained demand plan
    price: Decimal | None
    revenue: Decimal | None


PRICE_SOURCES = ("entered", "won deals", "weighted pipeline", "none")
# How a price's source reads on the demand review (the manifest's ``code_labels``).
CODE_LABELS = {"price_source": {"entered": _l("entered"), "won deals": _l("won deals"),
                                "weighted pipeline": _l("weighted pipeline"), "none": _l("none")}}


@dataclass(frozen=True)
class Price:
    value: Decimal | None
    source: str  # one of PRICE_SOURCES


def cycle_families(cycle: Cycle) -> dict[str, CycleFamily]:
    return {f.family: f for f in crm_port.db.session.scalars(
        select(CycleFamily).where(CycleFamily.cycle_id == cycle.id).order_by(CycleFamily.family))}


def _snapshot_rows(cycle: Cycle) -> dict[tuple[str, str], SnapshotRow]:
    if cycle.snapshot_id is None:
        return {}
    return {(r.family, r.period): r for r in crm_port.db.session.scalars(
        select(SnapshotRow).where(SnapshotRow.snapshot_id == cycle.snapshot_id))}


def overrides_in_force(cycle: Cycle) -> dict[tuple[str, str], DemandOverride]:
    latest: dict[tuple[str, str], DemandOverride] = {}
    for override in crm_port.db.session.scalars(
            select(DemandOverride).where(DemandOverride.cycle_id == cycle.id).order_by(DemandOverride.id)):
        latest[(override.family, override.period)] = override
    return latest


def override_history(cycle: Cycle) -> list[DemandOverride]:
    return list(crm_port.db.session.scalars(
        select(DemandOverride).where(DemandOverride.cycle_id == cycle.id).order_by(DemandOverride.id.desc())))


def family_prices(cycle: Cycle, families: dict[str, CycleFamily] | None = None) -> dict[str, Price]:
    families = families if families is not None else cycle_families(cycle)
    index = check_month(cycle.month)
    since, until = last_day(index - 12), last_day(index)
    won: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for total in crm_port.won_line_totals():
        if since < total.closed_on <= until:
            won[total.family][0] += Decimal(str(total.quantity))
            won[total.family][1] += total.amount
    pipeline: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in _snapshot_rows(cycle).values():
        pipeline[row.family][0] += Decimal(str(row.weighted_units))
        pipeline[row.family][1] += row.weighted_revenue
    prices = {}
    for code, family in families.items():
        if family.unit_price is not None:
            prices[code] = Price(family.unit_price, "entered")
        elif won[code][0] > 0:
            prices[code] = Price(money(won[code][1] / won[code][0]), "won deals")
        elif pipeline[code][0] > 0:
            prices[code] = Price(money(pipeline[code][1] / pipeline[code][0]), "weighted pipeline")
        else:
            prices[code] = Price(None, "none")
    return prices


def demand_plan(cycle: Cycle) -> list[DemandCell]:
    families = cycle_families(cycle)
    prices = family_prices(cycle, families)
    frozen = _snapshot_rows(cycle)
    overrides = overrides_in_force(cycle)
    cells = []
    for code in families:
        for period in horizon_periods(cycle):
            row = frozen.get((code, period))
            statistical = units(row.demand_input_units) if row else Decimal("0.000")
            override = overrides.get((code, period))
            demand = override.units if override else statistical
            price = prices[code].value
            cells.append(DemandCell(
                family=code, period=period,
                baseline_units=units(row.baseline_units) if row else Decimal("0.000"),
                weighted_units=units(row.weighted_units) if row else Decimal("0.000"),
                statistical_units=statistical,
                override_units=override.units if override else None,
                override_reason=override.reason if override else None,
                demand_units=units(demand), price=price,
                revenue=money(demand * price) if price is not None else None,
            ))
    return cells


def add_override(actor, month: str, family: str, period: str, new_units, reason: str,
                 now: datetime) -> DemandOverride:
    """A new number for one family and month, with the assumption behind it. Kept beside the
    earlier ones; the number it replaces is the one in force until now."""
    require_planner(actor)
    cycle = _open_for_changes(month)
    errors: dict[str, str] = {}
    code = _family_of(cycle, family, errors)
    if period not in horizon_periods(cycle):
        horizon = horizon_periods(cycle)
        errors["period"] = _("a month of the cycle's horizon (%(first)s to %(last)s)",
                             first=horizon[0], last=horizon[-1])
    value = _units_or_error(new_units, "units", errors)
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("say why: the assumption behind the number (a promotion, a launch, a lost account)")
    elif len(reason) > MAX_TEXT:
        errors["reason"] = _("at most %(max_text)s characters", max_text=MAX_TEXT)
    if errors:
        raise crm_port.ValidationFailed(_("the override was not saved"), errors)
    replaced = next(c.demand_units for c in demand_plan(cycle) if (c.family, c.period) == (code, period))
    override = DemandOverride(cycle_id=cycle.id, family=code, period=period, units=value,
                              replaced_units=replaced, reason=reason, created_by_id=getattr(actor, "id", None),
                              created_at=now)
    crm_port.db.session.add(override)
    crm_port.db.session.flush()
    return override


# --- supply ---------------------------------------------------------------------------------

def capacity_of(cycle: Cycle) -> dict[tuple[str, str], Decimal]:
    return {(c.family, c.period): c.units for c in crm_port.db.session.scalars(
        select(Capacity).where(Capacity.cycle_id == cycle.id))}


def set_capacity(actor, month: str, rows: list[dict], now: datetime) -> int:
    """Capacity in units for family-months of the cycle (each row replaces its family-month;
    an empty ``units`` removes it). Every bad row is named; nothing is written then. Returns
    how many months now have the capacity sent."""
    require_planner(actor)
    cycle = _open_for_changes(month)
    periods = set(horizon_periods(cycle))
    errors: dict[str, str] = {}
    clean = []
    for number, row in enumerate(rows, start=1):
        row_errors: dict[str, str] = {}
        code = _family_of(cycle, str(row.get("family", "")), row_errors)
        if str(row.get("period", "")) not in periods:
            row_errors["period"] = _("a month of the cycle's horizon")
        raw = row.get("units")
        value = None if raw in (None, "") else _units_or_error(raw, "units", row_errors)
        if row_errors:
            errors.update({f"rows[{number}].{k}": v for k, v in row_errors.items()})
        else:
            clean.append((code, str(row["period"]), value))
    if errors:
        raise crm_port.ValidationFailed(_("capacity was not saved"), errors)
    existing = {(c.family, c.period): c for c in crm_port.db.session.scalars(
        select(Capacity).where(Capacity.cycle_id == cycle.id))}
    for code, period, value in clean:
        entered = existing.get((code, period))
        if value is None:
            if entered is not None:
                crm_port.db.session.delete(entered)
        elif entered is None:
            crm_port.db.session.add(Capacity(cycle_id=cycle.id, family=code, period=period, units=value,
                                             entered_by_id=getattr(actor, "id", None), entered_at=now))
        else:
            entered.units, entered.entered_by_id, entered.entered_at = value, getattr(actor, "id", None), now
    crm_port.db.session.flush()
    return sum(1 for _code, _period, value in clean if value is not None)


def set_family_supply(actor, month: str, family: str, now: datetime, *, strategy: str,
                      target_inventory=None, opening_inventory=None, unit_price=None) -> CycleFamily:
    require_planner(actor)
    cycle = _open_for_changes(month)
    errors: dict[str, str] = {}
    code = _family_of(cycle, family, errors)
    if strategy not in STRATEGIES:
        errors["strategy"] = _("one of %(choices)s", choices=", ".join(STRATEGIES))
    target = None if target_inventory in (None, "") else _units_or_error(target_inventory, "target_inventory", errors)
    opening = Decimal(0) if opening_inventory in (None, "") else _units_or_error(
        opening_inventory, "opening_inventory", errors)
    price = None
    if unit_price not in (None, ""):
        price = _number_or_error(unit_price, "unit_price", errors, MAX_PRICE)
        price = money(price) if price is not None else None
    if strategy != "make_to_stock" and target is not None:
        errors["target_inventory"] = _("only make-to-stock families hold a target inventory")
    if errors:
        raise crm_port.ValidationFailed(_("the family was not saved"), errors)
    row = cycle_families(cycle)[code]
    row.strategy, row.target_inventory, row.opening_inventory, row.unit_price = strategy, target, opening, price
    row.updated_by_id, row.updated_at = getattr(actor, "id", None), now
    crm_port.db.session.flush()
    return row


@dataclass(frozen=True)
class SupplyMonth:
    period: str
    demand_units: Decimal
    capacity_units: Decimal | None
    shortfall_units: Decimal          # demand above capacity (0 when capacity suffices)
    inventory_units: Decimal | None   # make-to-stock: projected end-of-month inventory (negative: short)
    backlog_units: Decimal | None     # make-to-order / assemble-to-order: orders waiting
    below_target: bool


@dataclass(frozen=True)
class SupplyFamily:
    family: str
    strategy: str
    target_inventory: Decimal | None
    opening_inventory: Decimal
    months: list[SupplyMonth] = field(default_factory=list)

    @property
    def months_over_capacity(self) -> int:
        return sum(1 for m in self.months if m.shortfall_units > 0)


def supply_view(cycle: Cycle, demand: list[DemandCell] | None = None) -> list[SupplyFamily]:
    demand = demand if demand is not None else demand_plan(cycle)
    capacity = capacity_of(cycle)
    by_family: dict[str, list[DemandCell]] = defaultdict(list)
    for cell in demand:
        by_family[cell.family].append(cell)
    result = []
    for code, family in cycle_families(cycle).items():
        result.append(SupplyFamily(code, family.strategy, family.target_inventory, family.opening_inventory,
                                   project(family, by_family[code], capacity)))
    return result


def project(family: CycleFamily, cells: list[DemandCell],
            capacity: dict[tuple[str, str], Decimal]) -> list[SupplyMonth]:
    stock = family.opening_inventory or Decimal(0)
    backlog = Decimal(0)
    months = []
    for cell in cells:
        cap = capacity.get((cell.family, cell.period))
        made = cap if cap is not None else Decimal(0)
        shortfall = max(Decimal(0), cell.demand_units - made)
        if family.strategy == "make_to_stock":
            stock = stock + made - cell.demand_units
            below = family.target_inventory is not None and stock < family.target_inventory
            months.append(SupplyMonth(cell.period, cell.demand_units, cap, units(shortfall), units(stock), None, below))
        else:
            backlog = max(Decimal(0), backlog + cell.demand_units - made)
            months.append(SupplyMonth(cell.period, cell.demand_units, cap, units(shortfall), None, units(backlog),
                                      False))
    return months


# --- finance --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FinanceCell:
    family: str
    period: str
    plan_revenue: Decimal | None
    business_plan_revenue: Decimal | None
    gap: Decimal | None   # plan − business plan (negative: the plan falls short)


def business_plan(periods: list[str] | None = None) -> dict[tuple[str, str], Decimal]:
    query = select(BusinessPlanCell)
    if periods:
        query = query.where(BusinessPlanCell.period.in_(periods))
    return {(c.family, c.period): c.revenue for c in crm_port.db.session.scalars(query)}


def finance_view(cycle: Cycle, demand: list[DemandCell] | None = None) -> list[FinanceCell]:
    demand = demand if demand is not None else demand_plan(cycle)
    plan = business_plan(horizon_periods(cycle))
    cells = []
    for cell in demand:
        target = plan.get((cell.family, cell.period))
        gap = cell.revenue - target if cell.revenue is not None and target is not None else None
        cells.append(FinanceCell(cell.family, cell.period, cell.revenue, target, gap))
    return cells


# --- pre-meeting and executive meeting ------------------------------------------------------

def review_family(actor, month: str, family: str, status: str, note: str | None, now: datetime) -> CycleFamily:
    """The pre-meeting's verdict on a family: agreed, or escalated (with the question for the
    executives). An escalation needs its note."""
    require_planner(actor)
    cycle = _open_for_changes(month)
    errors: dict[str, str] = {}
    code = _family_of(cycle, family, errors)
    if status not in REVIEW_STATUSES:
        errors["status"] = _("one of %(choices)s", choices=", ".join(REVIEW_STATUSES))
    note = (note or "").strip()
    if status == "escalated" and not note:
        errors["note"] = _("say what the executives must decide")
    if len(note) > MAX_TEXT:
        errors["note"] = _("at most %(max_text)s characters", max_text=MAX_TEXT)
    if errors:
        raise crm_port.ValidationFailed(_("the review was not saved"), errors)
    row = cycle_families(cycle)[code]
    row.review_status, row.review_note = status, note or None
    row.reviewed_by_id, row.reviewed_at = getattr(actor, "id", None), now
    crm_port.db.session.flush()
    return row


def agenda(cycle: Cycle) -> list[CycleFamily]:
    return [f for f in cycle_families(cycle).values() if f.review_status == "escalated"]


def record_decision(actor, month: str, family: str | None, text: str, now: datetime) -> Decision:
    require_planner(actor)
    cycle = get_cycle(month)
    errors: dict[str, str] = {}
    code = _family_of(cycle, family, errors) if family else None
    text = (text or "").strip()
    if not text:
        errors["text"] = _("required")
    elif len(text) > MAX_TEXT:
        errors["text"] = _("at most %(max_text)s characters", max_text=MAX_TEXT)
    if errors:
        raise crm_port.ValidationFailed(_("the decision was not recorded"), errors)
    decision = Decision(cycle_id=cycle.id, family=code, text=text, decided_by_id=getattr(actor, "id", None),
                        decided_at=now)
    crm_port.db.session.add(decision)
    crm_port.db.session.flush()
    return decision


def decisions(cycle: Cycle) -> list[Decision]:
    return list(crm_port.db.session.scalars(
        select(Decision).where(Decision.cycle_id == cycle.id).order_by(Decision.id)))


@dataclass(frozen=True)
class FamilySummary:
    """One family on one page: totals over the cycle's horizon and its first quarter."""

    family: str
    name: str
    strategy: str
    review_status: str
    review_note: str | None
    demand_units: Decimal
    last_cycle_units: Decimal | None    # the previous cycle's published plan, same months
    revenue: Decimal | None
    business_plan_revenue: Decimal | None
    capacity_units: Decimal | None
    months_over_capacity: int
    end_inventory: Decimal | None
    end_backlog: Decimal | None
    next_quarter: list[SupplyMonth]
    overrides: int
    decisions: list[Decision]


def executive_summary(cycle: Cycle) -> list[FamilySummary]:
    demand = demand_plan(cycle)
    supply = {s.family: s for s in supply_view(cycle, demand)}
    finance = finance_view(cycle, demand)
    last = _last_cycle_units(cycle)
    names = {f.code: f.name for f in crm_port.product_families()}
    overrides = overrides_in_force(cycle)
    made = decisions(cycle)
    summaries = []
    for code, family in cycle_families(cycle).items():
        cells = [c for c in demand if c.family == code]
        money_cells = [f for f in finance if f.family == code]
        plan = supply[code]
        capacities = [m.capacity_units for m in plan.months if m.capacity_units is not None]
        summaries.append(FamilySummary(
            family=code, name=names.get(code, code), strategy=family.strategy,
            review_status=family.review_status, review_note=family.review_note,
            demand_units=units(sum((c.demand_units for c in cells), Decimal(0))),
            last_cycle_units=last.get(code),
            revenue=_total(c.revenue for c in cells),
            business_plan_revenue=_total(f.business_plan_revenue for f in money_cells),
            capacity_units=units(sum(capacities, Decimal(0))) if capacities else None,
            months_over_capacity=plan.months_over_capacity,
            end_inventory=plan.months[-1].inventory_units if plan.months else None,
            end_backlog=plan.months[-1].backlog_units if plan.months else None,
            next_quarter=plan.months[:3],
            overrides=sum(1 for key in overrides if key[0] == code),
            decisions=[d for d in made if d.family == code],
        ))
    return summaries


def _total(values) -> Decimal | None:
    known = [v for v in values if v is not None]
    return money(sum(known, Decimal(0))) if known else None


def _last_cycle_units(cycle: Cycle) -> dict[str, Decimal]:
    """Per family, the units the previous cycle's published plan had for this cycle's months."""
    before = previous_cycle(cycle)
    if before is None:
        return {}
    versions = published_versions(before)
    if not versions:
        return {}
    periods = set(horizon_periods(cycle))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for cell in versions[-1].cells:
        if cell.period in periods:
            totals[cell.family] += cell.demand_units
    return {code: units(value) for code, value in totals.items()}


# --- helpers --------------------------------------------------------------------------------

def _open_for_changes(month: str) -> Cycle:
    cycle = get_cycle(month)
    if published_versions(cycle):
        raise crm_port.Conflict(_("the cycle's plan is published: changes go into next month's cycle"))
    return cycle


def _family_of(cycle: Cycle, family: str | None, errors: dict[str, str]) -> str:
    code = (family or "").strip()
    if code not in cycle_families(cycle):
        errors["family"] = _("unknown family '%(family)s'", family=code[:40])
    return code


def _number_or_error(value, name: str, errors: dict[str, str], limit: Decimal) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        errors[name] = _("a number")
        return None
    if not number.is_finite() or number >= limit:
        errors[name] = _("out of range")
        return None
    if number < 0:
        errors[name] = _("0 or more")
        return None
    return number


def _units_or_error(value, name: str, errors: dict[str, str]) -> Decimal:
    number = _number_or_error(value, name, errors, MAX_UNITS)
    return units(number) if number is not None else Decimal(0)
