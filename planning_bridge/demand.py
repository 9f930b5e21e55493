"""Demand-plan input per family and month: baseline, weighted pipeline, bands, and the number
suggested for the demand plan.

Steps of ``demand_input`` (the stages of ``planning_bridge/path/``, run by ``demand_path``):

1. Read the open pipeline (``inputs.py``): today's CRM deals, or the CRM rebuilt as of a past
   date, plus deals imported from another CRM. Closed deals never count, whatever their
   probability. Everything the later steps use is read here, at the start (stage defaults,
   family settings, the stored source choice, the learned model, observations, actuals): the
   later steps only compute (``path/states.py``).
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
from collections.abc import Set as AbstractSet
from datetime import date
from decimal import Decimal

import numpy as np
from flask_babel import gettext as _  # the bridge reaches crm only by its port

from planning_bridge import crm_port, pipeline
from planning_bridge.contracts import PROBABILITY_SOURCES, DealContribution
from planning_bridge.path import DemandPath, demand_path
from planning_bridge.path.combine import (
    CENT,
    DemandCell,
    assemble,
    cell_band,
    combine,
    not_yet_in_pipeline,
    round_units,
)
from planning_bridge.path.placement import EXACT_CELL_DEALS, Sums, accumulate, placements
from planning_bridge.periods import MAX_HORIZON, parse_period, period_text

_last_source: contextvars.ContextVar[str | None] = contextvars.ContextVar("probability_source", default=None)


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
    path: DemandPath                  # every stage's output (``planning_bridge/path``)


def last_probability_source() -> str | None:
    """The probability source the last ``demand_input`` in this context really used."""
    return _last_source.get()


def check_range(start: str, end: str) -> tuple[int, int]:
    first, last = parse_period(start), parse_period(end)
    errors = {}
    if first is None:
        errors["from"] = _("a month written YYYY-MM")
    if last is None:
        errors["to"] = _("a month written YYYY-MM")
    if first is not None and last is not None:
        if last < first:
            errors["to"] = _("must not be before from")
        elif last - first + 1 > MAX_HORIZON:
            errors["to"] = _("at most %(max_horizon)s months after from", max_horizon=MAX_HORIZON)
    if errors or first is None or last is None:
        raise crm_port.ValidationFailed(_("invalid month range"), errors)
    return first, last


def check_probabilities(probabilities: str) -> None:
    if probabilities not in PROBABILITY_SOURCES:
        raise crm_port.ValidationFailed(
            _("invalid probability source"),
            {"probabilities": _("one of %(choices)s", choices=", ".join(PROBABILITY_SOURCES))})


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
    path = demand_path(day=day, live=live, probabilities=probabilities, slip_adjusted=slip_adjusted,
                       first=first, last=last, wanted=families, learn_slips=pipeline.learn_slips)
    plan = path.timing
    assert path.combine is not None
    cells = without_idle_inactive(path.combine, path.states.inactive - set(families or ()))
    _last_source.set(plan.source)
    result = DemandRows(cell.row for cell in cells)
    result.probabilities, result.probability_source = probabilities, plan.source
    result.probability_method, result.model_version = plan.method, plan.version
    result.as_of, result.slip_adjusted, result.cells = day, slip_adjusted, cells
    result.baseline_sources = {c.row.family: c.baseline_source for c in cells}
    result.source_choice = plan.choice
    result.baseline_note = baseline_note(result.baseline_sources)
    result.path = path
    return result


def stage_figures(path: DemandPath, family: str, period: str) -> list[dict]:
    """What each stage of ``path`` gave one family-month, in stage order (the drill-down)."""
    month = parse_period(period)
    rows = path.states.rows  # the open pipeline rows, as stage 1 read them
    in_family = rows.family == rows.families.index(family) if family in rows.families else np.zeros(len(rows), bool)
    observed = path.observations.settled  # read only when a stage needed them
    placed, cell = path.placement, None
    if placed is not None and month is not None and family in placed.wanted and placed.first <= month <= placed.last:
        cell = placed.wanted.index(family) * placed.sums.months + (month - placed.first)
    combined = next((c for c in path.combine or () if c.row.family == family and c.row.period == period), None)
    return [
        {"stage": "states", "as_of": path.states.day, "live": path.states.live,
         "deals": int(rows.count[in_family].sum())},
        {"stage": "observations", "moments": None if observed is None else len(observed)},
        {"stage": "probabilities", "source": path.probabilities.source, "method": path.probabilities.method},
        {"stage": "timing", "slips": None if path.timing.slips is None else path.timing.slips.observations},
        {"stage": "placement", **({"weighted": None, "best": None, "deals": None} if placed is None or cell is None else
                                  {"weighted": round_units(placed.sums.weighted[cell]),
                                   "best": round_units(placed.sums.best[cell]),
                                   "deals": int(round(placed.sums.deals[cell]))})},
        {"stage": "combine", "rule": combined.combine_rule if combined else None,
         "baseline": combined.row.baseline_units if combined else None,
         "demand": combined.row.demand_input_units if combined else None},
    ]


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


def without_idle_inactive(cells: list[DemandCell], inactive: AbstractSet[str]) -> list[DemandCell]:
    """A deactivated family stays in the rows only while it still holds pipeline or actuals."""
    busy = {c.row.family for c in cells
            if c.row.best_case_units or c.baseline_all_units or c.booked_units}
    return [c for c in cells if c.row.family not in inactive or c.row.family in busy]


# --- the drill-down -----------------------------------------------------------------------

def demand_contributions(
    *, family: str, period: str, probabilities: str = "chosen", as_of: date | None = None,
    slip_adjusted: bool = False, today: date | None = None,
) -> list[DealContribution]:
    """The deals behind one family-month of the demand input, largest weighted units first:
    deal, stage, probability, quantity, owner — never contact details."""
    month = parse_period(period)
    if month is None:
        raise crm_port.ValidationFailed(_("invalid period"), {"period": _("a month written YYYY-MM")})
    check_probabilities(probabilities)
    day, live = resolve_as_of(as_of, today)
    path = demand_path(day=day, live=live, probabilities=probabilities, slip_adjusted=slip_adjusted,
                       per_deal=True, wanted=[family], through="timing", learn_slips=pipeline.learn_slips)
    plan, lead_times = path.timing, path.states.lead_times
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
            probability=round(probability, 6), quantity=round_units(quantity),
            weighted_units=round_units(quantity * probability * weights[i]),
            amount=Decimal(str(round(float(rows.amount[i]), 2))).quantize(CENT),
            owner=summary.owner if summary else "(imported)",
            expected_close=rows.close[i].astype(object),
        ))
    result.sort(key=lambda c: (-c.weighted_units, c.deal_id))
    return result


# Re-exported: callers and tests used them from here before the stages had their own modules.
__all__ = [
    "CENT", "EXACT_CELL_DEALS", "DemandCell", "DemandRows", "Sums", "accumulate", "assemble",
    "cell_band", "combine", "demand_contributions", "demand_input", "last_probability_source",
    "not_yet_in_pipeline", "placements", "stage_figures",
]
