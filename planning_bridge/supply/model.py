"""The aggregate plan of one product family as a linear program, and the cost model every
plan is priced by.

Pure functions of plain numbers: nothing here reads the database or the clock. ``build_lp``
makes the matrices (``LinearProgram``), ``solve`` hands them to SciPy's HiGHS (``linprog``,
or ``milp`` when the workforce must be whole people), and ``price_plan`` prices any plan —
the optimal one, chase, level or a planner's — with the same formulas, so plans compare.

Per month t the decision variables are (in this order, each a block of T columns):

    W workforce   H hires   L layoffs   P regular-time units   O overtime hours
    C subcontracted units   I ending inventory   S ending backlog

subject to

    W[t] = W[t-1] + H[t] - L[t]                                   (workforce balance)
    I[t-1] - S[t-1] + P[t] + O[t] / hpu + C[t] = D[t] + I[t] - S[t] (units balance)
    hpu * P[t] <= hours * W[t]                                    (regular hours)
    O[t] <= max_overtime * W[t]                                   (overtime per worker)
    P[t] + O[t] / hpu <= capacity[t]                              (optional: in-house capacity)
    I[T] >= min_inventory,  S[T] <= max_backlog,  0 <= W <= max_workforce, C <= max_subcontract,
    I <= max_inventory

(``hpu``: labour hours per unit; ``hours``: regular hours per worker-month). Cost: regular
wages on the whole workforce (people are paid whether they make units or not), overtime
hours, hires, layoffs, holding on ending inventory, backlog per unit-month, material on every
unit made in house, subcontracting per unit (material included). Revenue is fixed by the
demand (every unit is sold, backlogged ones later), so the cheapest plan is the most
profitable one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

VARIABLES = ("workers", "hires", "layoffs", "regular_units", "overtime_hours", "subcontract_units",
             "inventory", "backlog")
W, H, L, P, OT, C, INV, S = range(len(VARIABLES))
COST_PARTS = ("regular_labour", "overtime", "hiring", "layoffs", "holding", "backlog", "material",
              "subcontracting")
CENT = Decimal("0.01")
QUANTUM = Decimal("0.001")
# Solutions are floats; a few hundredths of a unit of slack is rounding, not a broken constraint.
TOLERANCE = 1e-6
# HiGHS stops a MIP within this relative gap of the best bound (its default, 1e-4, left
# whole-worker plans up to a few hundred above the cheapest on bench/aggregate_plan.py's
# families; 1e-6 finds the same plans as 1e-9 there). A MIP that runs past the time limit
# answers with the best plan found so far.
MIP_GAP = 1e-6
MIP_TIME_LIMIT = 10.0


@dataclass(frozen=True)
class Costs:
    material: float = 0.0          # per unit made in house
    holding: float = 0.0           # per unit of ending inventory per month
    backlog: float = 0.0           # per unit of ending backlog per month
    hiring: float = 0.0            # per worker hired
    layoff: float = 0.0            # per worker laid off
    regular_hourly: float = 0.0    # wage per regular hour
    overtime_hourly: float = 0.0   # wage per overtime hour
    subcontract: float = 0.0       # per unit bought, material included


@dataclass(frozen=True)
class Limits:
    max_workforce: float | None = None
    max_subcontract: float | None = None      # units per month
    max_inventory: float | None = None        # units at any month end
    max_production: tuple[float | None, ...] | None = None  # in-house units per month (the cycle's capacity)


@dataclass(frozen=True)
class Scenario:
    """Everything one family's aggregate plan needs. Quantities are floats (the LP's world);
    money is priced back in Decimal by ``price_plan``."""

    periods: tuple[str, ...]
    demand: tuple[float, ...]
    price: float
    costs: Costs
    labour_hours_per_unit: float
    hours_per_worker_month: float
    max_overtime_hours_per_worker: float
    start_workers: float = 0.0
    start_inventory: float = 0.0
    start_backlog: float = 0.0
    min_end_inventory: float = 0.0
    max_end_backlog: float = 0.0
    limits: Limits = field(default_factory=Limits)
    integer_workers: bool = False

    @property
    def months(self) -> int:
        return len(self.periods)

    @property
    def units_per_worker(self) -> float:
        """Units one worker makes in a month of regular time."""
        return self.hours_per_worker_month / self.labour_hours_per_unit

    def with_demand(self, demand) -> Scenario:
        return replace(self, demand=tuple(float(d) for d in demand))


@dataclass(frozen=True)
class Plan:
    """One plan's quantities per month, each a tuple of T floats (the order of VARIABLES)."""

    workers: tuple[float, ...]
    hires: tuple[float, ...]
    layoffs: tuple[float, ...]
    regular_units: tuple[float, ...]
    overtime_hours: tuple[float, ...]
    subcontract_units: tuple[float, ...]
    inventory: tuple[float, ...]
    backlog: tuple[float, ...]


@dataclass(frozen=True)
class LinearProgram:
    """``min c·x`` subject to ``A_ub x <= b_ub``, ``A_eq x = b_eq``, ``lower <= x <= upper``;
    ``integrality`` marks the whole-number columns (the workforce) when asked."""

    c: np.ndarray
    A_ub: np.ndarray
    b_ub: np.ndarray
    A_eq: np.ndarray
    b_eq: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integrality: np.ndarray


class Infeasible(Exception):
    """No plan meets the input. ``fields`` names the input each binding constraint comes from
    (``limits``, ``end.min_inventory``...) with the reason in words; ``reasons`` are those words."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(fields.values()))
        self.fields = fields

    @property
    def reasons(self) -> list[str]:
        return list(self.fields.values())


def column(kind: int, month: int, months: int) -> int:
    return kind * months + month


# --- the linear program -------------------------------------------------------------------

def unit_costs(s: Scenario) -> np.ndarray:
    """The objective's coefficient of each variable kind (per worker, unit or hour)."""
    k = s.costs
    costs = np.array([
        k.regular_hourly * s.hours_per_worker_month,   # W: a month of regular wages
        k.hiring, k.layoff,
        k.material,                                   # P: material of a regular-time unit
        k.overtime_hourly + k.material / s.labour_hours_per_unit,  # O: the wage and the material it makes
        k.subcontract, k.holding, k.backlog,
    ])
    # A cost of a billionth of a cent is none; left in, a denormal such as 1e-308 made HiGHS's
    # MIP settle on a plan 20 % dearer (found by the property test).
    return np.where(np.abs(costs) < 1e-9, 0.0, costs)


def build_lp(s: Scenario) -> LinearProgram:
    """The matrices of the scenario's LP (see the module docstring)."""
    T, n = s.months, len(VARIABLES) * s.months
    col = lambda kind, t: column(kind, t, T)  # noqa: E731  (a local shorthand)
    c = np.repeat(unit_costs(s), T)
    demand = np.asarray(s.demand, dtype=float)

    capacity = _production_caps(s)
    rows_ub = 2 * T + sum(1 for cap in capacity if cap is not None)
    A_ub, b_ub = np.zeros((rows_ub, n)), np.zeros(rows_ub)
    A_eq, b_eq = np.zeros((2 * T, n)), np.zeros(2 * T)
    extra = 2 * T
    for t in range(T):
        # workforce balance: W[t] - W[t-1] - H[t] + L[t] = 0 (W[-1] is the starting workforce)
        A_eq[t, [col(W, t), col(H, t), col(L, t)]] = [1, -1, 1]
        if t:
            A_eq[t, col(W, t - 1)] = -1
        else:
            b_eq[t] = s.start_workers
        # units balance: P + O/hpu + C - I[t] + S[t] + I[t-1] - S[t-1] = D[t]
        row = T + t
        A_eq[row, [col(P, t), col(OT, t), col(C, t), col(INV, t), col(S, t)]] = \
            [1, 1 / s.labour_hours_per_unit, 1, -1, 1]
        if t:
            A_eq[row, [col(INV, t - 1), col(S, t - 1)]] = [1, -1]
            b_eq[row] = demand[t]
        else:
            b_eq[row] = demand[0] - s.start_inventory + s.start_backlog
        # regular hours and overtime per worker
        A_ub[t, [col(P, t), col(W, t)]] = [s.labour_hours_per_unit, -s.hours_per_worker_month]
        A_ub[T + t, [col(OT, t), col(W, t)]] = [1, -s.max_overtime_hours_per_worker]
        if capacity[t] is not None:
            A_ub[extra, [col(P, t), col(OT, t)]] = [1, 1 / s.labour_hours_per_unit]
            b_ub[extra] = capacity[t]
            extra += 1

    lower, upper = np.zeros(n), np.full(n, np.inf)
    lim = s.limits
    for kind, cap in ((W, lim.max_workforce), (C, lim.max_subcontract), (INV, lim.max_inventory)):
        if cap is not None:
            upper[kind * T:(kind + 1) * T] = cap
    lower[col(INV, T - 1)] = s.min_end_inventory
    upper[col(S, T - 1)] = min(upper[col(S, T - 1)], s.max_end_backlog)
    integrality = np.zeros(n, dtype=int)
    if s.integer_workers:
        # Whole workers: the workforce only. Hires and layoffs are differences of whole numbers
        # already (the cheapest plan never hires and lays off in one month); declaring them
        # integer too made HiGHS branch on them, four times slower (bench/aggregate_plan.py).
        integrality[:T] = 1
    return LinearProgram(c, A_ub, b_ub, A_eq, b_eq, lower, upper, integrality)


def _production_caps(s: Scenario) -> list[float | None]:
    caps = s.limits.max_production
    return list(caps) if caps is not None else [None] * s.months


def solve(s: Scenario, lp: LinearProgram | None = None) -> Plan:
    """The minimum-cost plan (HiGHS: ``linprog`` for a continuous workforce, ``milp`` for
    whole workers). ``Infeasible`` names the binding constraints when no plan exists."""
    explain_infeasible(s)  # the plain checks first: their words beat a solver status
    lp = lp if lp is not None else build_lp(s)
    if s.integer_workers:
        result = milp(lp.c, integrality=lp.integrality, bounds=Bounds(lp.lower, lp.upper),
                      constraints=[LinearConstraint(lp.A_ub, -np.inf, lp.b_ub),
                                   LinearConstraint(lp.A_eq, lp.b_eq, lp.b_eq)],
                      options={"mip_rel_gap": MIP_GAP, "time_limit": MIP_TIME_LIMIT})
    else:
        result = linprog(lp.c, A_ub=lp.A_ub, b_ub=lp.b_ub, A_eq=lp.A_eq, b_eq=lp.b_eq,
                         bounds=np.column_stack([lp.lower, lp.upper]), method="highs")
    if result.x is None and result.status == 1:
        raise Infeasible({"integer_workers": _("no whole-worker plan found in %(mip_time_limit)s s: plan with a "
                                               "continuous workforce, or fewer months",
                                               mip_time_limit=f"{MIP_TIME_LIMIT:.0f}")})
    if result.status == 2 or result.x is None:
        raise Infeasible({"limits": _("no plan meets every constraint together (the solver found none); "
                                    "loosen the limits, the ending inventory or the ending backlog")})
    return plan_from_vector(np.maximum(result.x, 0.0), s.months)


def plan_from_vector(x: np.ndarray, months: int) -> Plan:
    blocks = [tuple(float(v) for v in x[k * months:(k + 1) * months]) for k in range(len(VARIABLES))]
    return Plan(*blocks)


# --- why a scenario has no plan -------------------------------------------------------------

def explain_infeasible(s: Scenario) -> None:
    """Raise ``Infeasible`` with every reason that is plain arithmetic: the most the plant,
    overtime and subcontractors can supply over the horizon against what must be delivered,
    and inventory that can neither be sold nor thrown away."""
    reasons: dict[str, str] = {}
    lim = s.limits
    total_demand = sum(s.demand)
    required = total_demand + s.start_backlog + s.min_end_inventory - s.max_end_backlog - s.start_inventory
    if lim.max_inventory is not None and s.min_end_inventory > lim.max_inventory + TOLERANCE:
        reasons["end.min_inventory"] = (_("the ending inventory must be at least %(qty)s units but inventory may not "
                                          "exceed %(qty2)s",
                                          qty=qty(s.min_end_inventory), qty2=qty(lim.max_inventory)))
    supply, parts = _most_supply(s)
    if parts is not None and supply + TOLERANCE < required:
        reasons["limits"] = (
            _("demand cannot be met: over %(months)s months the most that can be supplied is %(qty)s units "
              "(%(parts)s) but %(qty2)s are needed (demand %(qty3)s%(opening_words)s); raise the maximum workforce "
              "or allow subcontracting",
              months=s.months, qty=qty(supply), parts=parts, qty2=qty(required), qty3=qty(total_demand),
              opening_words=_opening_words(s)))
    if lim.max_inventory is not None:
        on_hand = s.start_inventory - s.start_backlog
        for t, demand in enumerate(s.demand):
            on_hand -= demand
            if on_hand > lim.max_inventory + TOLERANCE:
                reasons["start.inventory"] = (_("the starting inventory alone leaves %(qty)s units at the end of "
                                                "%(value)s, above the maximum inventory of %(qty2)s",
                                                qty=qty(on_hand), value=s.periods[t], qty2=qty(lim.max_inventory)))
                break
    if reasons:
        raise Infeasible(reasons)


def _most_supply(s: Scenario) -> tuple[float, str | None]:
    """The most units the horizon can supply, and how, in words; (inf, None) when unlimited."""
    lim = s.limits
    per_worker = s.units_per_worker + s.max_overtime_hours_per_worker / s.labour_hours_per_unit
    caps = _production_caps(s)
    words = []
    if lim.max_workforce is None and any(cap is None for cap in caps):
        return math.inf, None
    if lim.max_subcontract is None:
        return math.inf, None
    workforce = math.floor(lim.max_workforce + TOLERANCE) if (s.integer_workers and lim.max_workforce is not None) \
        else lim.max_workforce
    in_house = 0.0
    for cap in caps:
        by_people = workforce * per_worker if workforce is not None else math.inf
        in_house += min(by_people, cap if cap is not None else math.inf)
    if workforce is not None:
        words.append(_("at most %(workers)s workers × %(units)s units a month with %(hours)s overtime hours each",
                       workers=qty(workforce), units=qty(per_worker), hours=qty(s.max_overtime_hours_per_worker)))
    if any(cap is not None for cap in caps):
        words.append(_("the plant's capacity per month"))
    words.append(_("%(units)s subcontracted units a month", units=qty(lim.max_subcontract)))
    return in_house + lim.max_subcontract * s.months, ", ".join(words)


def _opening_words(s: Scenario) -> str:
    words = []
    if s.start_backlog:
        words.append(" + " + _("opening backlog %(units)s", units=qty(s.start_backlog)))
    if s.min_end_inventory:
        words.append(" + " + _("ending inventory %(units)s", units=qty(s.min_end_inventory)))
    if s.start_inventory:
        words.append(" − " + _("opening inventory %(units)s", units=qty(s.start_inventory)))
    if s.max_end_backlog:
        words.append(" − " + _("allowed ending backlog %(units)s", units=qty(s.max_end_backlog)))
    return "".join(words)


def qty(value: float) -> str:
    """A quantity for a sentence: 1,250 or 12.5."""
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


# --- pricing any plan ------------------------------------------------------------------------

def _dec(value: float) -> Decimal:
    """A plan quantity as the Decimal it is priced at (thousandths; tiny negatives are 0)."""
    return Decimal(repr(max(float(value), 0.0))).quantize(QUANTUM, ROUND_HALF_UP)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class PricedMonth:
    period: str
    demand: Decimal
    workers: Decimal
    hires: Decimal
    layoffs: Decimal
    regular_units: Decimal
    overtime_hours: Decimal
    overtime_units: Decimal
    subcontract_units: Decimal
    production: Decimal           # regular + overtime + subcontracted units
    opening_inventory: Decimal
    inventory: Decimal
    backlog: Decimal
    cost: Decimal


@dataclass(frozen=True)
class PricedPlan:
    strategy: str
    months: list[PricedMonth]
    cost_breakdown: dict[str, Decimal]
    total_cost: Decimal
    revenue: Decimal
    profit: Decimal
    average_inventory: Decimal


def price_plan(s: Scenario, plan: Plan, strategy: str, revenue: Decimal | None = None) -> PricedPlan:
    """Cost, revenue, profit and average inventory of ``plan``, month by month. Quantities are
    taken to the thousandth, each cost part to the cent, and the total is the sum of the
    parts, so the breakdown always adds up."""
    k = s.costs
    rate = {name: Decimal(repr(float(value))) for name, value in k.__dict__.items()}
    hours = Decimal(repr(float(s.hours_per_worker_month)))
    hpu = Decimal(repr(float(s.labour_hours_per_unit)))
    parts = dict.fromkeys(COST_PARTS, Decimal(0))
    months, opening = [], _dec(s.start_inventory)
    for t, period in enumerate(s.periods):
        q = {name: _dec(getattr(plan, name)[t]) for name in VARIABLES}
        overtime_units = (q["overtime_hours"] / hpu).quantize(QUANTUM, ROUND_HALF_UP)
        month_parts = {
            "regular_labour": rate["regular_hourly"] * hours * q["workers"],
            "overtime": rate["overtime_hourly"] * q["overtime_hours"],
            "hiring": rate["hiring"] * q["hires"],
            "layoffs": rate["layoff"] * q["layoffs"],
            "holding": rate["holding"] * q["inventory"],
            "backlog": rate["backlog"] * q["backlog"],
            "material": rate["material"] * (q["regular_units"] + q["overtime_hours"] / hpu),
            "subcontracting": rate["subcontract"] * q["subcontract_units"],
        }
        month_parts = {name: _money(value) for name, value in month_parts.items()}
        for name, value in month_parts.items():
            parts[name] += value
        months.append(PricedMonth(
            period=period, demand=_dec(s.demand[t]), workers=q["workers"], hires=q["hires"], layoffs=q["layoffs"],
            regular_units=q["regular_units"], overtime_hours=q["overtime_hours"], overtime_units=overtime_units,
            subcontract_units=q["subcontract_units"],
            production=q["regular_units"] + overtime_units + q["subcontract_units"],
            opening_inventory=opening, inventory=q["inventory"], backlog=q["backlog"],
            cost=sum(month_parts.values(), Decimal(0)),
        ))
        opening = q["inventory"]
    total = sum(parts.values(), Decimal(0))
    revenue = revenue if revenue is not None else _money(Decimal(repr(float(s.price))) * _dec(sum(s.demand)))
    average = sum(((m.opening_inventory + m.inventory) / 2 for m in months), Decimal(0)) / max(len(months), 1)
    return PricedPlan(strategy, months, parts, total, revenue, revenue - total,
                      average.quantize(QUANTUM, ROUND_HALF_UP))
