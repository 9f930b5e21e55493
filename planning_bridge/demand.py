"""Demand-plan input per family and month: baseline, weighted pipeline, bands, and the number
suggested for the demand plan.

Steps of ``demand_input``:

1. Read the open pipeline (``inputs.py``): today's CRM deals, or the CRM rebuilt as of a past
   date, plus deals imported from another CRM. Closed deals never count, whatever their
   probability.
2. Give each deal its win probability p (``probabilities.py``).
3. Place it in time (``timing.py``): the month of (expected close, or the as-of date when that
   has passed, + the family's lead time), or spread over the learned slips (weight w per month).
4. Per family and month: ``weighted_units`` = Σ Q·p·w, ``weighted_revenue`` = Σ amount·p·w,
   ``best_case_units`` = Σ Q·w (every open deal won), ``commit_units`` = Σ Q·w over deals in the
   commit stage or later, ``deal_count`` = deals that may land there, ``low_units`` and
   ``high_units`` = 10th and 90th percentiles of the won units (``bands.py``).
5. Baselines from the actuals (``history.py``) and the family's combine rule
   (``settings.py``) give ``demand_input_units``:

   * ``pipeline``: the weighted pipeline; ``baseline_units`` shows the baseline of all actuals
     for reference;
   * ``baseline``: the baseline of all actuals;
   * ``baseline_plus_pipeline``: the baseline of the actuals that did not come from CRM deals
     (shown as ``baseline_units``) + the weighted pipeline, so no deal is counted twice.
     Without imported actuals, the baseline is made from the won-deal history, and
     ``baseline_units`` is what it expects beyond the booked orders and the pipeline
     (``not_yet_in_pipeline``): the whole horizon is covered, not only the months the open
     deals reach.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from planning_bridge import crm_port
from planning_bridge.bands import HIGH, LOW, Moments, approximate_percentiles, band
from planning_bridge.contracts import PROBABILITY_SOURCES, DealContribution, DemandRow
from planning_bridge.history import baseline_values, family_histories, won_units
from planning_bridge.periods import MAX_HORIZON, month_index, month_indexes, parse_period, period_text
from planning_bridge.pipeline import ProbabilityPlan, plan_probabilities
from planning_bridge.settings import settings_by_family
from planning_bridge.timing import EARLIEST, OFFSETS

CENT = Decimal("0.01")
EXACT_CELL_DEALS = 5000  # cells with more deals use the approximation without gathering them
_last_source: contextvars.ContextVar[str | None] = contextvars.ContextVar("probability_source", default=None)


@dataclass(frozen=True)
class DemandCell:
    """A ``DemandRow`` plus what snapshots and accuracy need besides the published columns."""

    row: DemandRow
    combine_rule: str
    baseline_all_units: float        # baseline of all actuals
    baseline_other_units: float      # baseline of actuals not from CRM deals
    booked_units: float              # won deals' units due this month, already closed at the as-of date
    baseline_method: str
    baseline_source: str = "none"    # "imported", "won_deals" or "none" (``history.FamilyHistory``)


class DemandRows(list):
    """The rows of ``demand_input`` (a list of ``DemandRow``), saying how they were made:
    ``probabilities`` asked, ``probability_source`` used ("stage" when "calibrated" had too
    little history), ``probability_method``, ``model_version``, ``as_of``, ``slip_adjusted``;
    ``cells`` holds the richer ``DemandCell`` of each row."""

    probabilities: str
    probability_source: str
    probability_method: str
    model_version: str
    as_of: date
    slip_adjusted: bool
    cells: list[DemandCell]
    baseline_sources: dict[str, str]  # family -> where its baseline comes from
    baseline_note: str                # the same in a sentence
    source_choice: dict               # "chosen": family -> SourceChoice (source and reason)


def last_probability_source() -> str | None:
    """The probability source the last ``demand_input`` in this context really used."""
    return _last_source.get()


def check_range(start: str, end: str) -> tuple[int, int]:
    first, last = parse_period(start), parse_period(end)
    errors = {}
    if first is None:
        errors["from"] = "a month written YYYY-MM"
    if last is None:
        errors["to"] = "a month written YYYY-MM"
    if first is not None and last is not None:
        if last < first:
            errors["to"] = "must not be before from"
        elif last - first + 1 > MAX_HORIZON:
            errors["to"] = f"at most {MAX_HORIZON} months after from"
    if errors or first is None or last is None:
        raise crm_port.ValidationFailed("invalid month range", errors)
    return first, last


def check_probabilities(probabilities: str) -> None:
    if probabilities not in PROBABILITY_SOURCES:
        raise crm_port.ValidationFailed(
            "invalid probability source", {"probabilities": f"one of {', '.join(PROBABILITY_SOURCES)}"})


def demand_input(
    *, start: str, end: str, probabilities: str = "chosen", as_of: date | None = None,
    slip_adjusted: bool = False, families: list[str] | None = None, today: date | None = None,
) -> DemandRows:
    """Demand-plan input for every family (or ``families``) and month from ``start`` to ``end``
    (``YYYY-MM``), computed live (``snapshot_id`` None) from the pipeline as it stands, or as it
    stood at the end of ``as_of``. See the module docstring for the rules.

    :param today: the day a live computation takes as today (default: the UTC date); overdue
        expected closes move to it. For reproducible runs and tests.
    """
    first, last = check_range(start, end)
    check_probabilities(probabilities)
    day, live = resolve_as_of(as_of, today)
    family_list = crm_port.product_families()
    lead_times = {f.code: f.lead_time_days for f in family_list}
    wanted = select_families(family_list, families)
    plan = plan_probabilities(probabilities, day, live, slip_adjusted, per_deal=False)
    sums = accumulate(plan, lead_times, day, first, last, wanted)
    cells = without_idle_inactive(assemble(sums, lead_times, day, first, last, wanted),
                                  {f.code for f in family_list if not f.is_active} - set(families or ()))
    _last_source.set(plan.source)
    result = DemandRows(cell.row for cell in cells)
    result.probabilities, result.probability_source = probabilities, plan.source
    result.probability_method, result.model_version = plan.method, plan.version
    result.as_of, result.slip_adjusted, result.cells = day, slip_adjusted, cells
    result.baseline_sources = {c.row.family: c.baseline_source for c in cells}
    result.source_choice = plan.choice
    result.baseline_note = baseline_note(result.baseline_sources)
    return result


BASELINE_SOURCE_TEXT = {
    "imported": "imported actuals (ERP orders)",
    "won_deals": "won-deal history (no actuals imported)",
    "none": "no history yet",
}


def baseline_note(sources: dict[str, str]) -> str:
    """"PUMP, VALVE: won-deal history (no actuals imported); CTRL: imported actuals"."""
    by_source: dict[str, list[str]] = {}
    for family, source in sorted(sources.items()):
        by_source.setdefault(source, []).append(family)
    return "; ".join(f"{', '.join(families)}: {BASELINE_SOURCE_TEXT.get(source, source)}"
                     for source, families in by_source.items())


def resolve_as_of(as_of: date | None, today: date | None = None) -> tuple[date, bool]:
    """The day the numbers are for, and whether that is today (live) or a rebuilt past."""
    today = today or crm_port.utcnow().date()
    if as_of is None or as_of >= today:
        return (as_of or today), True
    return as_of, False


def select_families(family_list, families: list[str] | None) -> list[str]:
    """The families asked for (all known ones by default), in code order."""
    known = [f.code for f in family_list]
    if families:
        unknown = sorted(set(families) - set(known))
        if unknown:
            raise crm_port.ValidationFailed("unknown product family", {"family": ", ".join(unknown)[:200]})
        return [code for code in known if code in set(families)]
    return known


# --- step 3 and 4: place and sum -----------------------------------------------------------

@dataclass
class Sums:
    families: list[str]
    months: int
    weighted: np.ndarray
    revenue: np.ndarray
    best: np.ndarray
    commit: np.ndarray
    deals: np.ndarray
    moments: np.ndarray              # (cells, 4): mean, variance, third, maximum
    exact: dict[int, tuple[list, list]]  # cell -> (quantities, probabilities) when small


def placements(plan: ProbabilityPlan, lead_times: dict[str, int], day: date):
    """Yield (row mask, month index per row, weight) for every slip offset with mass."""
    rows = plan.rows
    lead = np.array([lead_times.get(code, 0) for code in rows.families] or [0], dtype="timedelta64[D]")
    close = np.maximum(rows.close, np.datetime64(day, "D"))
    close_month = month_indexes(close)
    base_month = month_indexes(close + lead[rows.family]) if len(rows) else close_month
    today_month = month_index(day)
    if plan.slips is None:
        yield np.ones(len(rows), bool), base_month, np.ones(len(rows))
        return
    stage_pmf = np.array([plan.slips.pmf(name) for name in rows.stages] or [np.zeros(OFFSETS.size)])
    for k in OFFSETS:
        weight = stage_pmf[rows.stage, k - EARLIEST] if len(rows) else np.zeros(0)
        mask = weight > 0
        if not mask.any():
            continue
        shift = np.maximum(close_month + k, today_month) - close_month  # no close before today
        yield mask, base_month + shift, weight


def accumulate(plan: ProbabilityPlan, lead_times, day: date, first: int, last: int, wanted) -> Sums:
    """Step 4: every placed row's contributions summed per cell (family x month)."""
    rows, p = plan.rows, plan.p
    n_months = last - first + 1
    family_pos = {code: i for i, code in enumerate(wanted)}
    row_family = (np.array([family_pos.get(code, -1) for code in rows.families] or [-1])[rows.family]
                  if len(rows) else np.zeros(0, np.int64))
    size = len(wanted) * n_months
    sums = Sums(list(wanted), n_months, weighted=np.zeros(size), revenue=np.zeros(size), best=np.zeros(size),
                commit=np.zeros(size), deals=np.zeros(size), moments=np.zeros((size, 4)), exact={})
    small_cells = None
    for mask, month, weight in placements(plan, lead_times, day):
        inside = mask & (row_family >= 0) & (month >= first) & (month <= last)
        if not inside.any():
            continue
        cell = row_family[inside] * n_months + (month[inside] - first)
        w = weight[inside]
        r = p[inside] * w  # the chance the deal is won and lands in this month
        s1, s2, s3 = rows.s1[inside], rows.s2[inside], rows.s3[inside]
        spread = r * (1 - r)
        for target, values in (
            (sums.weighted, s1 * r), (sums.revenue, rows.amount[inside] * r), (sums.best, s1 * w),
            (sums.commit, s1 * w * plan.commit[inside]), (sums.deals, rows.count[inside] * (w > 0)),
            (sums.moments[:, 0], s1 * r), (sums.moments[:, 1], s2 * spread),
            (sums.moments[:, 2], s3 * spread * (1 - 2 * r)), (sums.moments[:, 3], s1 * (r > 0)),
        ):
            np.add.at(target, cell, values)
        if small_cells is None:
            small_cells = _small_cells(plan, lead_times, day, row_family, first, last, size)
        _gather_exact(sums.exact, small_cells, cell, rows.count[inside], s1, s2, r)
    return sums


def _small_cells(plan, lead_times, day, row_family, first, last, size) -> np.ndarray:
    """Cells with few enough deals to compute their band exactly (when ``bands`` can)."""
    counts = np.zeros(size)
    n_months = last - first + 1
    for mask, month, _weight in placements(plan, lead_times, day):
        inside = mask & (row_family >= 0) & (month >= first) & (month <= last)
        np.add.at(counts, row_family[inside] * n_months + (month[inside] - first), plan.rows.count[inside])
    return counts <= EXACT_CELL_DEALS


def _gather_exact(exact, small_cells, cell, count, s1, s2, r) -> None:
    """Collect each small cell's deals. A group of equal quantities (Σ Q² · n = (Σ Q)²) is
    n deals of Σ Q / n; a group of unequal ones cannot be split, and marks its cell approximate."""
    for i in np.flatnonzero(small_cells[cell]):
        key = int(cell[i])
        quantities, chances = exact.setdefault(key, ([], []))
        if quantities is None or r[i] <= 0:
            continue
        n = int(count[i])
        if n == 1 or abs(s2[i] * n - s1[i] ** 2) <= 1e-9 * max(s1[i] ** 2, 1.0):
            quantities.extend([s1[i] / n] * n)
            chances.extend([r[i]] * n)
        else:
            exact[key] = (None, None)


# --- step 5: baselines, rules, rows -------------------------------------------------------

def assemble(sums: Sums, lead_times, day: date, first: int, last: int, wanted) -> list[DemandCell]:
    """Step 5: each cell's sums with its family's baselines under its combine rule."""
    settings = settings_by_family()
    histories = family_histories(lead_times, day)
    booked = won_units(lead_times, day)
    currency = crm_port.base_currency_code()  # weighted revenue is in it (crm.public converts)
    cells = []
    for f, family in enumerate(wanted):
        history = histories[family]
        all_units, method = baseline_values(history.total, history.first, first, last)
        other_units, _ = baseline_values(history.other, history.first, first, last)
        rule = settings[family].combine_rule if family in settings else "baseline_plus_pipeline"
        family_booked = booked.get(family, {})
        for m in range(sums.months):
            index = f * sums.months + m
            low, high = cell_band(sums, index)
            weighted = float(sums.weighted[index])
            if history.source != "imported":
                other_units[m] = not_yet_in_pipeline(all_units[m], family_booked.get(first + m, 0.0), weighted)
            shown, demand = combine(rule, weighted, all_units[m], other_units[m])
            row = DemandRow(
                family=family, period=period_text(first + m), baseline_units=_r(shown),
                weighted_units=_r(weighted),
                weighted_revenue=Decimal(str(round(float(sums.revenue[index]), 2))).quantize(CENT),
                best_case_units=_r(sums.best[index]), commit_units=_r(sums.commit[index]),
                low_units=_r(low), high_units=_r(high), deal_count=int(round(sums.deals[index])),
                demand_input_units=_r(demand), snapshot_id=None, currency=currency,
            )
            cells.append(DemandCell(
                row, rule, _r(all_units[m]), _r(other_units[m]),
                _r(family_booked.get(first + m, 0.0)), method, history.source,
            ))
    return cells


def not_yet_in_pipeline(won_baseline: float, booked: float, weighted: float) -> float:
    """Without imported actuals, the units the won-deal baseline expects in a month beyond
    what is already booked (won deals due then) and what the open pipeline brings: the deals
    not created yet. Near months the pipeline covers the baseline (0); far months, where the
    pipeline thins out, this fills the horizon, so demand = max(won baseline - booked,
    weighted pipeline) and no deal is counted twice."""
    return max(won_baseline - booked - weighted, 0.0)


def combine(rule: str, weighted: float, baseline_all: float, baseline_other: float) -> tuple[float, float]:
    """(baseline shown, demand input) under a family's combine rule (module docstring)."""
    if rule == "pipeline":
        return baseline_all, weighted
    if rule == "baseline":
        return baseline_all, baseline_all
    return baseline_other, baseline_other + weighted


def without_idle_inactive(cells: list[DemandCell], inactive: set[str]) -> list[DemandCell]:
    """A deactivated family stays in the rows only while it still holds pipeline or actuals."""
    busy = {c.row.family for c in cells
            if c.row.best_case_units or c.baseline_all_units or c.booked_units}
    return [c for c in cells if c.row.family not in inactive or c.row.family in busy]


def cell_band(sums: Sums, index: int) -> tuple[float, float]:
    quantities, chances = sums.exact.get(index, (None, None))
    if quantities is not None and index in sums.exact:
        low, high = band(quantities, chances, (LOW, HIGH))
        return low, high
    mean, variance, third, maximum = sums.moments[index]
    if maximum <= 0:
        return 0.0, 0.0
    low, high = approximate_percentiles(Moments(mean, variance, third, maximum), (LOW, HIGH))
    return low, high


def _r(value) -> float:
    return round(float(value), 6) + 0.0  # + 0.0: never "-0.0"


# --- the drill-down -----------------------------------------------------------------------

def demand_contributions(
    *, family: str, period: str, probabilities: str = "chosen", as_of: date | None = None,
    slip_adjusted: bool = False, today: date | None = None,
) -> list[DealContribution]:
    """The deals behind one family-month of the demand input, largest weighted units first:
    deal, stage, probability, quantity, owner — never contact details."""
    month = parse_period(period)
    if month is None:
        raise crm_port.ValidationFailed("invalid period", {"period": "a month written YYYY-MM"})
    check_probabilities(probabilities)
    day, live = resolve_as_of(as_of, today)
    family_list = crm_port.product_families()
    select_families(family_list, [family])
    lead_times = {f.code: f.lead_time_days for f in family_list}
    plan = plan_probabilities(probabilities, day, live, slip_adjusted, per_deal=True)
    rows = plan.rows
    if family not in rows.families:
        return []
    in_family = rows.family == rows.families.index(family)
    weights = np.zeros(len(rows))
    for mask, months, weight in placements(plan, lead_times, day):
        hit = mask & in_family & (months == month)
        weights[hit] += weight[hit]
    picked = np.flatnonzero(weights > 0)
    labels = [rows.deal_label(int(rows.deal[i])) for i in picked]
    summaries = crm_port.deal_summaries(label for label in labels if label.isdigit())
    result = []
    for i, label in zip(picked, labels):
        summary = summaries.get(label)
        quantity, probability = float(rows.s1[i]), float(plan.p[i])
        result.append(DealContribution(
            deal_id=label, deal_name=summary.name if summary else label.removeprefix("ext:"),
            family=family, period=period_text(month), stage=rows.stages[rows.stage[i]],
            probability=round(probability, 6), quantity=_r(quantity),
            weighted_units=_r(quantity * probability * weights[i]),
            amount=Decimal(str(round(float(rows.amount[i]), 2))).quantize(CENT),
            owner=summary.owner if summary else "(imported)",
            expected_close=rows.close[i].astype(object),
        ))
    result.sort(key=lambda c: (-c.weighted_units, c.deal_id))
    return result
