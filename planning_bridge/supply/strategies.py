"""The textbook strategies next to the optimal plan, each a ``Plan`` priced by the same cost
model (``model.price_plan``):

* ``chase``: every month makes exactly its net requirement on regular time — its demand less
  the inventory on hand (plus an opening backlog in the first month, plus the required ending
  inventory in the last) — and the workforce is hired or laid off to match (workers =
  production / units per worker-month, rounded up when workers are whole people). No overtime,
  subcontracting nor backlog.
* ``level``: one workforce for the whole horizon, set in the first month: the smallest whose
  regular-time output over the horizon, with the opening inventory, covers the demand, the
  opening backlog and the ending inventory. Every month makes the same; inventory absorbs the
  peaks and backlog fills a month where cumulative output falls short.
* ``planner``: the workforce per month a planner gives; the rest (how much of it to use,
  overtime, subcontracting, inventory, backlog) is the cheapest the LP finds with that
  workforce fixed.
"""
from __future__ import annotations

import math

import numpy as np
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import lazy_gettext as _l

from planning_bridge.supply.model import (
    TOLERANCE,
    Infeasible,
    Plan,
    Scenario,
    W,
    build_lp,
    explain_infeasible,
    qty,
    solve,
)

STRATEGIES = ("optimal", "chase", "level", "planner")
# How the strategies read on pages (the manifest's ``code_labels``): alone, and as a plan.
CODE_LABELS = {
    "supply_strategy": {"optimal": _l("Optimal"), "chase": _l("Chase"), "level": _l("Level"),
                        "planner": _l("Planner's")},
    "supply_plan": {"optimal": _l("Optimal plan"), "chase": _l("Chase plan"), "level": _l("Level plan"),
                    "planner": _l("Planner's plan")},
    "supply_cost_part": {"regular_labour": _l("Regular labour"), "overtime": _l("Overtime"), "hiring": _l("Hiring"),
                         "layoffs": _l("Layoffs"), "holding": _l("Holding"), "backlog": _l("Backlog"),
                         "material": _l("Material"), "subcontracting": _l("Subcontracting")},
}


def _workers(units: float, s: Scenario, slack: float = TOLERANCE) -> float:
    """The workers that make ``units`` (whole ones when asked): the fewest whose output falls
    short by at most ``slack`` units, so float noise does not hire a worker, and a tiny
    demand still gets one (a tolerance in workers, not units, rounded 1e-05 units to none)."""
    needed = units / s.units_per_worker
    if not s.integer_workers:
        return needed
    whole = math.ceil(needed)
    if whole > 0 and (whole - 1) * s.units_per_worker >= units - slack:
        whole -= 1
    return float(whole)


def _moves(workers: list[float], start: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    hires, layoffs, before = [], [], start
    for now in workers:
        hires.append(max(0.0, now - before))
        layoffs.append(max(0.0, before - now))
        before = now
    return tuple(hires), tuple(layoffs)


def chase_plan(s: Scenario) -> Plan:
    explain_infeasible(s)
    on_hand = s.start_inventory - s.start_backlog
    made, stock = [], []
    for t, demand in enumerate(s.demand):
        need = demand + (s.min_end_inventory if t == s.months - 1 else 0.0)
        net = max(0.0, need - on_hand)
        on_hand += net - demand
        made.append(net)
        stock.append(max(0.0, on_hand))
    workers = [_workers(units, s) for units in made]
    _check_limits(s, "chase", workers, made, stock)
    hires, layoffs = _moves(workers, s.start_workers)
    zeros = (0.0,) * s.months
    return Plan(tuple(workers), hires, layoffs, tuple(made), zeros, zeros, tuple(stock), zeros)


def level_workforce(s: Scenario) -> float:
    required = sum(s.demand) + s.start_backlog + s.min_end_inventory - s.start_inventory
    # Every month makes the same output, so a month's shortfall counts ``months`` times.
    return _workers(max(0.0, required) / s.months, s, slack=TOLERANCE / (2 * s.months))


def level_plan(s: Scenario) -> Plan:
    explain_infeasible(s)
    workforce = level_workforce(s)
    output = workforce * s.units_per_worker
    on_hand = s.start_inventory - s.start_backlog
    stock, short = [], []
    for demand in s.demand:
        on_hand += output - demand
        stock.append(max(0.0, on_hand))
        short.append(max(0.0, -on_hand))
    workers = [workforce] * s.months
    _check_limits(s, "level", workers, [output] * s.months, stock)
    if short[-1] > s.max_end_backlog + TOLERANCE:  # only rounding can get here
        raise Infeasible({"level": _("level leaves a backlog of %(qty)s units at the end", qty=qty(short[-1]))})
    hires, layoffs = _moves(workers, s.start_workers)
    zeros = (0.0,) * s.months
    return Plan(tuple(workers), hires, layoffs, (output,) * s.months, zeros, zeros, tuple(stock), tuple(short))


def planner_plan(s: Scenario, workforce: list[float]) -> Plan:
    """The cheapest plan with the workforce of each month fixed at the planner's numbers."""
    explain_infeasible(s)
    _check_planner_supply(s, workforce)
    lp = build_lp(s)
    fixed = np.asarray(workforce, dtype=float)
    lp.lower[W * s.months:(W + 1) * s.months] = fixed
    lp.upper[W * s.months:(W + 1) * s.months] = fixed
    try:
        return solve(s, lp)
    except Infeasible:
        raise Infeasible({"planner_workforce": _("the planner's workforce cannot meet the demand with the overtime, "
                                               "subcontracting and inventory limits given")}) from None


def _check_limits(s: Scenario, name: str, workers: list[float], made: list[float], stock: list[float]) -> None:
    """A fixed-rule plan can break a limit the optimal plan respects: say where."""
    lim, reasons = s.limits, {}
    if lim.max_workforce is not None:
        over = [(p, w) for p, w in zip(s.periods, workers) if w > lim.max_workforce + TOLERANCE]
        if over:
            reasons["limits.max_workforce"] = (_("%(name)s needs %(qty)s workers in %(value)s, above the maximum "
                                                 "workforce of %(qty2)s",
                                                 name=name, qty=qty(over[0][1]), value=over[0][0],
                                                 qty2=qty(lim.max_workforce)))
    caps = lim.max_production or (None,) * s.months
    over_cap = [(p, m, c) for p, m, c in zip(s.periods, made, caps) if c is not None and m > c + TOLERANCE]
    if over_cap:
        period, units, cap = over_cap[0]
        reasons["limits.max_production"] = (_("%(name)s makes %(qty)s units in %(period)s, above that month's "
                                              "capacity of %(qty2)s",
                                              name=name, qty=qty(units), period=period, qty2=qty(cap)))
    if lim.max_inventory is not None:
        full = [(p, i) for p, i in zip(s.periods, stock) if i > lim.max_inventory + TOLERANCE]
        if full:
            reasons["limits.max_inventory"] = (_("%(name)s holds %(qty)s units at the end of %(value)s, above the "
                                                 "maximum inventory of %(qty2)s",
                                                 name=name, qty=qty(full[0][1]), value=full[0][0],
                                                 qty2=qty(lim.max_inventory)))
    if reasons:
        raise Infeasible(reasons)


def _check_planner_supply(s: Scenario, workforce: list[float]) -> None:
    lim = s.limits
    if lim.max_workforce is not None:
        over = [(p, w) for p, w in zip(s.periods, workforce) if w > lim.max_workforce + TOLERANCE]
        if over:
            raise Infeasible({"planner_workforce": _("the planner's %(qty)s workers in %(value)s are above the "
                                                     "maximum workforce of %(qty2)s",
                                                     qty=qty(over[0][1]), value=over[0][0],
                                                     qty2=qty(lim.max_workforce))})
    if lim.max_subcontract is None:
        return
    per_worker = s.units_per_worker + s.max_overtime_hours_per_worker / s.labour_hours_per_unit
    caps = lim.max_production or (None,) * s.months
    most = sum(min(w * per_worker, c if c is not None else math.inf) for w, c in zip(workforce, caps))
    most += lim.max_subcontract * s.months
    required = sum(s.demand) + s.start_backlog + s.min_end_inventory - s.max_end_backlog - s.start_inventory
    if most + TOLERANCE < required:
        raise Infeasible({"planner_workforce": _("the planner's workforce, with all its overtime and %(qty)s "
                                                 "subcontracted units a month, supplies at most %(qty2)s units but "
                                                 "%(qty3)s are needed",
                                                 qty=qty(lim.max_subcontract), qty2=qty(most), qty3=qty(required))})
