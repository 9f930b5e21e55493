"""Stage 6, combine with the baseline: per family and month, the placed sums with their bands
(``bands.py``), and the baselines made from the family's history of actuals that stage 1 read
(``history.py``: imported ERP orders, else the won-deal history; ``history.baseline_values``
fits them) under the family's combine rule (``settings.py``), give each cell's
``demand_input_units``: see ``combine`` and ``not_yet_in_pipeline``."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from planning_bridge.bands import HIGH, LOW, Moments, approximate_percentiles, band
from planning_bridge.contracts import DemandRow, FamilySettings
from planning_bridge.history import baseline_values
from planning_bridge.path.placement import Placed, Sums
from planning_bridge.path.states import Actuals
from planning_bridge.periods import period_text

CENT = Decimal("0.01")


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


def combine_with_baseline(placed: Placed) -> list[DemandCell]:
    states = placed.plan.observed.states
    assert states.actuals is not None  # read by stage 1 when the path runs to this stage
    return assemble(placed.sums, states.actuals, states.settings, placed.first, placed.last, placed.wanted)


def assemble(sums: Sums, actuals: Actuals, settings: dict[str, FamilySettings], first: int, last: int,
             wanted) -> list[DemandCell]:
    """Each cell's sums with its family's baselines under its combine rule."""
    cells = []
    for f, family in enumerate(wanted):
        history = actuals.histories[family]
        all_units, method = baseline_values(history.total, history.first, first, last)
        other_units, _ = baseline_values(history.other, history.first, first, last)
        rule = settings[family].combine_rule if family in settings else "baseline_plus_pipeline"
        family_booked = actuals.booked.get(family, {})
        for m in range(sums.months):
            index = f * sums.months + m
            low, high = cell_band(sums, index)
            weighted = float(sums.weighted[index])
            if history.source != "imported":
                other_units[m] = not_yet_in_pipeline(all_units[m], family_booked.get(first + m, 0.0), weighted)
            shown, demand = combine(rule, weighted, all_units[m], other_units[m])
            row = DemandRow(
                family=family, period=period_text(first + m), baseline_units=round_units(shown),
                weighted_units=round_units(weighted),
                weighted_revenue=Decimal(str(round(float(sums.revenue[index]), 2))).quantize(CENT),
                best_case_units=round_units(sums.best[index]), commit_units=round_units(sums.commit[index]),
                low_units=round_units(low), high_units=round_units(high), deal_count=int(round(sums.deals[index])),
                demand_input_units=round_units(demand), snapshot_id=None, currency=actuals.currency,
            )
            cells.append(DemandCell(
                row, rule, round_units(all_units[m]), round_units(other_units[m]),
                round_units(family_booked.get(first + m, 0.0)), method, history.source,
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
    """(baseline shown, demand input) under a family's combine rule: ``pipeline``, the weighted
    pipeline (the baseline of all actuals shown for reference); ``baseline``, the baseline of
    all actuals; ``baseline_plus_pipeline``, the baseline of the actuals not from CRM deals plus
    the weighted pipeline, so no deal counts twice (``demand.py``'s docstring)."""
    if rule == "pipeline":
        return baseline_all, weighted
    if rule == "baseline":
        return baseline_all, baseline_all
    return baseline_other, baseline_other + weighted


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


def round_units(value) -> float:
    return round(float(value), 6) + 0.0  # + 0.0: never "-0.0"
