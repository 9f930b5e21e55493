"""Supply scenarios' one face: pages, API and CLI call these.

* ``run_aggregate_plan``: a validated scenario → every strategy asked for, priced side by
  side, and each candidate promotion re-optimised against the base case. A scenario with no
  plan at all is refused with the binding constraints named (``ValidationFailed``); a strategy
  that breaks a limit the optimal plan respects is reported as not feasible, with why.
* Family cost settings (``family_costs``, ``save_family_costs``): planners edit them; a family
  without its own numbers plans with ``DEFAULT_COSTS``.
* Prefilled scenarios: from a cycle's demand plan, capacity and supply facts
  (``cycle_scenario``), or from the consensus plan in force (``family_scenario``).
* ``choose_plan``: "use this plan" in a cycle's supply review: the scenario and its priced
  plan stored with the cycle (refused once the cycle's plan is published, as every input).

Services take the acting user (anything with ``id`` and ``role``) and ``now``, flush and
never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from pydantic import ValidationError
from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.periods import month_index, parse_period, period_text
from planning_bridge.sop import services as sop
from planning_bridge.supply.inputs import ScenarioIn
from planning_bridge.supply.model import Infeasible, PricedPlan, explain_infeasible, price_plan, solve
from planning_bridge.supply.models import COST_FIELDS, DEFAULT_COSTS, LIMIT_FIELDS, ChosenPlan, FamilyCosts
from planning_bridge.supply.promotions import PromotionResult, evaluate_promotion
from planning_bridge.supply.schemas import (
    SupplyAggregatePlanOut,
    SupplyMonthOut,
    SupplyPromotionOut,
    SupplyStrategyOut,
    strategy_out,
)
from planning_bridge.supply.strategies import STRATEGIES, chase_plan, level_plan, planner_plan

PLANNERS = sop.PLANNERS
READERS = sop.MONEY_READERS
CURRENCY_NOTE = "money in the company's base currency"
FAMILY_PAGE_MONTHS = 12
MAX_RATE = Decimal("1e7")


# --- running a scenario -------------------------------------------------------------------

@dataclass(frozen=True)
class PromotionOutcome:
    period: str
    asked: Any                                  # the PromotionIn
    result: PromotionResult | Infeasible


@dataclass(frozen=True)
class ScenarioResult:
    strategies: dict[str, PricedPlan | Infeasible]
    promotions: list[PromotionOutcome]
    base: PricedPlan                            # the optimal plan the promotions compare with


def run_aggregate_plan(body: ScenarioIn) -> ScenarioResult:
    """Every strategy of ``body.strategies`` and every promotion of ``body.promotions``.

    :raises ValidationFailed: no plan can meet the scenario (fields name the binding input).
    """
    s = body.scenario()
    try:
        explain_infeasible(s)
        base = price_plan(s, solve(s), "optimal")
    except Infeasible as exc:
        raise crm_port.ValidationFailed(_("no plan meets this scenario"), exc.fields) from None
    builders = {
        "optimal": lambda: base,
        "chase": lambda: price_plan(s, chase_plan(s), "chase"),
        "level": lambda: price_plan(s, level_plan(s), "level"),
        "planner": lambda: price_plan(s, planner_plan(s, list(body.planner_workforce or [])), "planner"),
    }
    strategies: dict[str, PricedPlan | Infeasible] = {}
    for name in body.strategies:
        try:
            strategies[name] = builders[name]()
        except Infeasible as exc:
            strategies[name] = exc
    promotions = []
    for asked, promotion in zip(body.promotions, body.promotion_list()):
        try:
            outcome: PromotionResult | Infeasible = evaluate_promotion(s, promotion, base)
        except Infeasible as exc:
            outcome = exc
        promotions.append(PromotionOutcome(promotion.period, asked, outcome))
    return ScenarioResult(strategies, promotions, base)


def aggregate_plan_out(result: ScenarioResult) -> SupplyAggregatePlanOut:
    return SupplyAggregatePlanOut(
        currency_note=CURRENCY_NOTE,
        strategies={name: strategy_out(name, outcome) for name, outcome in result.strategies.items()},
        promotions=[_promotion_out(p) for p in result.promotions],
    )


def _promotion_out(outcome: PromotionOutcome) -> SupplyPromotionOut:
    asked = outcome.asked.model_dump()
    if isinstance(outcome.result, Infeasible):
        return SupplyPromotionOut(**asked, feasible=False, reasons=outcome.result.reasons, total_cost=None,
                                  revenue=None, profit=None, profit_change=None, average_inventory=None,
                                  demand=[], months=[])
    plan = outcome.result.plan
    return SupplyPromotionOut(
        **asked, feasible=True, reasons=[], total_cost=plan.total_cost, revenue=plan.revenue, profit=plan.profit,
        profit_change=outcome.result.profit_change, average_inventory=plan.average_inventory,
        demand=[round(d, 3) for d in outcome.result.demand],
        months=[SupplyMonthOut(**month.__dict__) for month in plan.months],
    )


def parse_scenario(data: Any) -> ScenarioIn:
    """A scenario from plain data (a page's form, the CLI's file): ``ValidationFailed`` naming
    each bad field, as the API's body parser does."""
    try:
        return ScenarioIn.model_validate(data)
    except ValidationError as exc:
        raise crm_port.ValidationFailed(_("the scenario is not valid"), scenario_errors(exc)) from None


def scenario_errors(exc: ValidationError) -> dict[str, str]:
    """``{"costs.holding": "reason"}`` from pydantic's errors, in the reader's language (the
    kernel's ``field_errors``, as the API's body parser reads them)."""
    return crm_port.field_errors(exc, root="scenario")[0]


# --- family cost settings -----------------------------------------------------------------

@dataclass(frozen=True)
class CostSettings:
    family: str
    values: dict[str, Decimal | bool | None]    # every FamilyCosts column but the bookkeeping ones
    entered: bool                               # False: the defaults


SETTING_FIELDS = ("price",) + COST_FIELDS + (
    "labour_hours_per_unit", "hours_per_worker_month", "max_overtime_hours_per_worker", "start_workers",
) + LIMIT_FIELDS + ("integer_workers",)


def _known_family(code: str) -> str:
    if code not in {f.code for f in crm_port.product_families()}:
        raise crm_port.NotFound(_("no product family '%(family)s'", family=str(code)[:40]))
    return code


def family_costs(code: str) -> CostSettings:
    _known_family(code)
    row = crm_port.db.session.scalar(select(FamilyCosts).where(FamilyCosts.family == code))
    if row is None:
        values: dict[str, Decimal | bool | None] = {name: None for name in SETTING_FIELDS}
        values.update(DEFAULT_COSTS)
        values.update(start_workers=Decimal(0), integer_workers=False)
        return CostSettings(code, values, False)
    return CostSettings(code, {name: getattr(row, name) for name in SETTING_FIELDS}, True)


def save_family_costs(actor, code: str, values: dict[str, Any], now: datetime) -> FamilyCosts:
    """A family's cost settings (every field: a number ≥ 0, or empty for the optional ones —
    price, limits). ``ValidationFailed`` names every bad field; nothing is saved then."""
    sop.require_planner(actor)
    _known_family(code)
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    unknown = sorted(set(values) - set(SETTING_FIELDS))
    for name in unknown[:10]:
        errors[str(name)[:40]] = _("not a cost setting")
    optional = {"price", *LIMIT_FIELDS}
    for name in SETTING_FIELDS:
        raw = values.get(name)
        if name == "integer_workers":
            clean[name] = raw in (True, "1", "true", "on", 1)
            continue
        if raw in (None, ""):
            if name in optional:
                clean[name] = None
            else:
                errors[name] = _("required")
            continue
        clean[name] = _rate(raw, name, errors, positive=name in ("labour_hours_per_unit", "hours_per_worker_month"))
    if clean.get("hours_per_worker_month") is not None and clean["hours_per_worker_month"] > 744:
        errors["hours_per_worker_month"] = _("at most 744 (the hours of a month)")
    if errors:
        raise crm_port.ValidationFailed(_("the cost settings were not saved"), errors)
    row = crm_port.db.session.scalar(select(FamilyCosts).where(FamilyCosts.family == code))
    if row is None:
        row = FamilyCosts(family=code)
        crm_port.db.session.add(row)
    for name, value in clean.items():
        setattr(row, name, value)
    row.updated_by_id, row.updated_at = getattr(actor, "id", None), now
    crm_port.db.session.flush()
    return row


def _rate(raw, name: str, errors: dict[str, str], *, positive: bool) -> Decimal | None:
    try:
        number = Decimal(str(raw).strip())
    except ArithmeticError:
        errors[name] = _("a number")
        return None
    if not number.is_finite() or number >= MAX_RATE:
        errors[name] = _("out of range")
    elif number < 0 or (positive and number == 0):
        errors[name] = _("above 0") if positive else _("0 or more")
    else:
        return number
    return None


# --- prefilled scenarios ------------------------------------------------------------------

def _number(value: Any) -> float:
    return float(value) if value is not None else 0.0


def scenario_from_settings(settings: CostSettings, periods: list[str], demand: list, price) -> dict[str, Any]:
    """A scenario (the API's shape) from a family's settings and its plan's months."""
    v = settings.values
    return {
        "periods": periods, "demand": [_number(d) for d in demand],
        "price": _number(v["price"] if v["price"] is not None else price),
        "costs": {name: _number(v[name]) for name in COST_FIELDS},
        "labour_hours_per_unit": _number(v["labour_hours_per_unit"]),
        "hours_per_worker_month": _number(v["hours_per_worker_month"]),
        "max_overtime_hours_per_worker": _number(v["max_overtime_hours_per_worker"]),
        "start": {"workers": _number(v["start_workers"]), "inventory": 0.0, "backlog": 0.0},
        "end": {"min_inventory": 0.0, "max_backlog": 0.0},
        "limits": {name: (_number(v[name]) if v[name] is not None else None) for name in LIMIT_FIELDS},
        "integer_workers": bool(v["integer_workers"]),
        "strategies": ["optimal", "chase", "level"],
        "promotions": [],
    }


def cycle_scenario(month: str, code: str) -> dict[str, Any]:
    """The scenario of a family in a cycle's supply review: the cycle's demand plan (after
    overrides), its price, the capacity entered (the in-house limit per month), the opening
    inventory and, for make-to-stock, the target inventory to end with."""
    cycle = _cycle(month)
    families = sop.cycle_families(cycle)
    if code not in families:
        raise crm_port.NotFound(_("no family '%(family)s' in the %(month)s cycle", family=str(code)[:40],
                                                month=month))
    family = families[code]
    periods = sop.horizon_periods(cycle)
    cells = {c.period: c for c in sop.demand_plan(cycle) if c.family == code}
    capacity = sop.capacity_of(cycle)
    price = sop.family_prices(cycle, families)[code].value
    scenario = scenario_from_settings(family_costs(code), periods, [cells[p].demand_units for p in periods], price)
    scenario["start"]["inventory"] = _number(family.opening_inventory)
    if family.strategy == "make_to_stock" and family.target_inventory is not None:
        scenario["end"]["min_inventory"] = _number(family.target_inventory)
    caps = [capacity.get((code, p)) for p in periods]
    if any(cap is not None for cap in caps):
        scenario["limits"]["max_production"] = [float(cap) if cap is not None else None for cap in caps]
    return scenario


def family_scenario(code: str, now: datetime) -> tuple[dict[str, Any], str]:
    """The scenario of a family outside a cycle: the consensus plan in force (its demand and
    capacity from this month on), else zeros for the next ``FAMILY_PAGE_MONTHS`` months to
    type into. Also says where the demand came from."""
    settings = family_costs(code)
    version = sop.plan_in_force()
    this_month = period_text(month_index(now.date()))
    cells = sorted((c for c in (version.cells if version else []) if c.family == code and c.period >= this_month),
                   key=lambda c: c.period)
    if not cells:
        periods = [period_text(month_index(now.date()) + i) for i in range(FAMILY_PAGE_MONTHS)]
        return scenario_from_settings(settings, periods, [0] * len(periods), None), "none"
    periods = [c.period for c in cells]
    price = next((c.revenue / c.demand_units for c in cells if c.revenue is not None and c.demand_units > 0), None)
    scenario = scenario_from_settings(settings, periods, [c.demand_units for c in cells], price)
    caps = [c.capacity_units for c in cells]
    if any(cap is not None for cap in caps):
        scenario["limits"]["max_production"] = [float(cap) if cap is not None else None for cap in caps]
    return scenario, f"{version.cycle.month} v{version.version}" if version else "none"


# --- the plan chosen in a cycle ----------------------------------------------------------------

def _cycle(month: str):
    """The cycle of ``month``; a month that is not one has no cycle either (404, not 422: it
    comes from a URL)."""
    if parse_period(month or "") is None:
        raise crm_port.NotFound(_("no S&OP cycle for '%(month)s'", month=str(month)[:20]))
    return sop.get_cycle(month)


def choose_plan(actor, month: str, code: str, body: ScenarioIn, strategy: str, now: datetime, *,
                promotion_period: str | None = None) -> ChosenPlan:
    """Store the chosen scenario with the cycle: ``strategy`` of ``body`` (or, with
    ``promotion_period``, the optimal plan with that promotion). Solved again here, so what is
    stored is what the input gives."""
    sop.require_planner(actor)
    cycle = _cycle(month)
    if code not in sop.cycle_families(cycle):
        raise crm_port.NotFound(_("no family '%(family)s' in the %(month)s cycle", family=str(code)[:40],
                                                month=month))
    if sop.published_versions(cycle):
        raise crm_port.Conflict(_("the cycle's plan is published: changes go into next month's cycle"))
    if strategy not in STRATEGIES:
        raise crm_port.ValidationFailed(_("unknown strategy"), {"strategy": _("one of %(choices)s",
                                                                               choices=", ".join(STRATEGIES))})
    if strategy not in body.strategies:
        body = body.model_copy(update={"strategies": [*body.strategies, strategy]})
    result = run_aggregate_plan(body)
    out = aggregate_plan_out(result)
    chosen: SupplyStrategyOut | SupplyPromotionOut | None
    if promotion_period is not None:
        chosen = next((p for p in out.promotions if p.period == promotion_period), None)
        if chosen is None:
            raise crm_port.ValidationFailed(_("no such promotion"),
                                            {"promotion": _("one of the scenario's promotions")})
        strategy = "optimal"
    else:
        chosen = out.strategies.get(strategy)
    if chosen is None or not chosen.feasible or chosen.total_cost is None:
        reasons = "; ".join(chosen.reasons) if chosen is not None else _("unknown strategy")
        raise crm_port.ValidationFailed(_("this plan cannot be used"), {"strategy": reasons or _("not feasible")})
    row = ChosenPlan(cycle_id=cycle.id, family=code, strategy=strategy, promotion_period=promotion_period,
                     scenario=body.model_dump(mode="json"), plan=chosen.model_dump(mode="json"),
                     total_cost=chosen.total_cost, revenue=chosen.revenue, profit=chosen.profit,
                     chosen_by_id=getattr(actor, "id", None), chosen_at=now)
    crm_port.db.session.add(row)
    crm_port.db.session.flush()
    return row


def chosen_plans(month: str, code: str | None = None) -> list[ChosenPlan]:
    """Every plan chosen in the cycle (of one family when given), newest first."""
    cycle = _cycle(month)
    query = select(ChosenPlan).where(ChosenPlan.cycle_id == cycle.id)
    if code is not None:
        query = query.where(ChosenPlan.family == code)
    return list(crm_port.db.session.scalars(query.order_by(ChosenPlan.id.desc())))


def plan_in_use(month: str, code: str) -> ChosenPlan | None:
    found = chosen_plans(month, code)
    return found[0] if found else None


def plans_in_use(month: str) -> dict[str, ChosenPlan]:
    """Per family, the plan in use in the cycle (the latest chosen)."""
    in_use: dict[str, ChosenPlan] = {}
    for row in chosen_plans(month):  # newest first
        in_use.setdefault(row.family, row)
    return in_use
