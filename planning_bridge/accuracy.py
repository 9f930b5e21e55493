"""Forecast accuracy on past months, per family and lag, from snapshots and from rebuilt
history.

Lag L for target month M is the forecast made as of a day in month M - L: the month-end
snapshot taken just after month M - L closed (as of its last day) forecasts M at lag L, and
so does the pipeline rebuilt as of that last day (``crm.public`` replays the deal history),
with probabilities learned only from deals closed by then.

Three forecasts are scored against the actuals (``history.py``):

* ``baseline``: the statistical baseline of all actuals, alone;
* ``stage``, ``calibrated`` and ``blend`` (their average): the baseline of the actuals that
  did not come from CRM deals, plus the weighted pipeline with that probability source, plus
  the units of deals already won that fall due in the month (booked orders: they are in the
  actuals, and were known). ``blend`` is scored on rebuilt history only.

WMAPE = Σ|F - A| / ΣA, bias = Σ(F - A) / ΣA, summed over the target months (and, for "ALL",
over families too). Forecast value added (FVA) = WMAPE of the reference - WMAPE of the
candidate: ``calibrated`` over ``stage``, and ``stage`` and ``calibrated`` over ``baseline``.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.contracts import ACCURACY_FORECASTS, AccuracyCell, AccuracyReport, ValueAdded
from planning_bridge.demand import demand_input
from planning_bridge.history import imported_actuals, won_units
from planning_bridge.models import Actual, OutlierOverride, Snapshot
from planning_bridge.periods import completed_through, last_day, month_index, period_text

DEFAULT_MONTHS = 12
ALL = "ALL"
COMPARISONS = (("calibrated", "stage"), ("blend", "stage"), ("stage", "baseline"), ("calibrated", "baseline"))


def accuracy_report(
    *, lags=(1, 2, 3), months: int = DEFAULT_MONTHS, as_of: date | None = None, slip_adjusted: bool = False,
) -> AccuracyReport:
    """Accuracy over the last ``months`` months with actuals before ``as_of`` (default today),
    the pipeline timed plainly or with the learned slips (``slip_adjusted``; snapshots count
    when they were taken the same way)."""
    lags = tuple(sorted({int(lag) for lag in lags if 1 <= int(lag) <= 12})) or (1, 2, 3)
    months = max(1, min(int(months), 36))
    day = as_of or crm_port.utcnow().date()
    return _cached(lags, months, day, bool(slip_adjusted), _data_fingerprint())


def _data_fingerprint() -> tuple:
    session = crm_port.db.session
    actuals = tuple(session.execute(select(Actual.family, Actual.period, Actual.units).order_by(Actual.id)).all())
    decisions = tuple(session.execute(select(OutlierOverride.family, OutlierOverride.period,
                                             OutlierOverride.accepted, OutlierOverride.value)).all())
    snapshots = tuple(session.scalars(select(Snapshot.id).order_by(Snapshot.id)))
    families = tuple((f.code, f.lead_time_days) for f in crm_port.product_families())
    return crm_port.history_fingerprint(), actuals, decisions, snapshots, families


@lru_cache(maxsize=8)
def _cached(lags, months, day, slip_adjusted, _fingerprint) -> AccuracyReport:
    lead_times = {f.code: f.lead_time_days for f in crm_port.product_families()}
    actuals, targets = actual_units(lead_times, day, months)
    notes = []
    if not targets:
        notes.append("no past month with actuals yet: import actuals or win some deals")
        return AccuracyReport(lags, (), (), (), 0, tuple(notes))
    rebuilt = rebuilt_forecasts(targets, lags, slip_adjusted)
    from_snapshots, snapshot_count = snapshot_forecasts(targets, lags, slip_adjusted)
    if not snapshot_count:
        notes.append("no snapshot covers these months yet: scores come from rebuilt history only")
    notes += booked_notes(rebuilt, actuals, lags)
    cells, value_added = [], []
    for origin, forecasts in (("snapshots", from_snapshots), ("rebuilt", rebuilt)):
        if origin == "snapshots" and not snapshot_count:
            continue
        origin_cells = score(origin, forecasts, actuals, targets, lags, list(lead_times))
        cells += origin_cells
        value_added += added_value(origin, origin_cells)
    return AccuracyReport(lags, tuple(cells), tuple(value_added),
                          tuple(period_text(m) for m in targets), snapshot_count, tuple(notes))


def actual_units(lead_times, day: date, months: int):
    """family -> month -> actual units, and the target months: the last ``months`` months
    fully past at ``day`` that have actuals (imported ones: up to the last imported month)."""
    imported, won = imported_actuals(), won_units(lead_times, day)
    through = completed_through(day)
    actuals, last_known = {}, []
    for family in lead_times:
        if imported.get(family):
            actuals[family] = imported[family]
            last_known.append(max(imported[family]))
        else:
            actuals[family] = won.get(family, {})
            last_known.append(through)
    first_known = min((min(v) for v in actuals.values() if v), default=None)
    if first_known is None:
        return actuals, []
    end = min(min(last_known), through)
    return actuals, [m for m in range(end - months + 1, end + 1) if m >= first_known]


def booked_notes(forecasts: dict, actuals, lags) -> list[str]:
    """Why a family can score 0 % at a lag for every source: its whole demand was already booked
    (won deals due later, by the lead time) when the forecast was made, so no probability
    mattered. Said, so a perfect score is not read as a perfect pipeline."""
    booked: defaultdict[tuple[str, int], float] = defaultdict(float)
    actual: defaultdict[tuple[str, int], float] = defaultdict(float)
    for (family, month, lag, name), value in forecasts.items():
        if name == "booked":
            booked[(family, lag)] += value
            actual[(family, lag)] += float(actuals.get(family, {}).get(month, 0.0))
    return [f"{family} at lag {lag}: every unit was already booked (won deals due later) when the forecast "
            f"was made, so all sources score the same there and the probabilities were not tested"
            for (family, lag), units in sorted(booked.items())
            if lag in lags and actual[(family, lag)] > 0 and abs(units - actual[(family, lag)]) < 1e-6]


def rebuilt_forecasts(targets: list[int], lags, slip_adjusted: bool = False) -> dict:
    """(family, target month, lag, forecast) -> units, from the pipeline rebuilt as of the
    last day of each origin month."""
    forecasts = {}
    origins = sorted({m - lag for m in targets for lag in lags})
    for origin in origins:
        as_of = last_day(origin)
        start, end = period_text(origin + 1), period_text(origin + max(lags))
        for probabilities in ("stage", "calibrated"):
            rows = demand_input(start=start, end=end, probabilities=probabilities, as_of=as_of,
                                slip_adjusted=slip_adjusted)
            for cell in rows.cells:
                month = month_index(date.fromisoformat(cell.row.period + "-01"))
                lag = month - origin
                if month not in targets or lag not in lags:
                    continue
                key = (cell.row.family, month, lag)
                forecasts[key + ("baseline",)] = cell.baseline_all_units
                forecasts[key + ("booked",)] = cell.booked_units
                forecasts[key + (probabilities,)] = (
                    cell.baseline_other_units + cell.booked_units + cell.row.weighted_units)
    add_blend(forecasts)
    return forecasts


def add_blend(forecasts: dict) -> None:
    """The ``blend`` forecast: the average of the ``stage`` and ``calibrated`` ones. Exact, not
    an approximation: the weighted pipeline is linear in the probabilities, and both share
    the baseline, the booked orders and the timing (without imported actuals the baseline
    fills what the pipeline leaves, so it is the average of two such fills: close enough to
    choose by)."""
    for (family, month, lag, name), value in list(forecasts.items()):
        if name == "stage" and (family, month, lag, "calibrated") in forecasts:
            forecasts[(family, month, lag, "blend")] = (value + forecasts[(family, month, lag, "calibrated")]) / 2


def snapshot_forecasts(targets: list[int], lags, slip_adjusted: bool = False) -> tuple[dict, int]:
    """The same from snapshots timed the same way: for each origin month and source, the
    month-end snapshot if there is one, else the latest snapshot as of a day in that month."""
    chosen: dict[tuple[int, str], Snapshot] = {}
    for snapshot in crm_port.db.session.scalars(select(Snapshot).order_by(Snapshot.taken_at, Snapshot.id)):
        if bool(snapshot.parameters.get("slip_adjusted")) != slip_adjusted:
            continue
        origin_key = (month_index(snapshot.as_of), snapshot.probabilities)
        current = chosen.get(origin_key)
        if current is None or current.scheduled_month is None or snapshot.scheduled_month is not None:
            chosen[origin_key] = snapshot
    forecasts: dict[tuple[str, int, int, str], float] = {}
    used: set[int] = set()
    for (origin, probabilities), snapshot in chosen.items():
        for row in snapshot.rows:
            month = month_index(date.fromisoformat(row.period + "-01"))
            lag = month - origin
            if month not in targets or lag not in lags:
                continue
            used.add(snapshot.id)
            key = (row.family, month, lag)
            forecasts[key + ("baseline",)] = row.baseline_all_units
            forecasts[key + (probabilities,)] = row.baseline_other_units + row.booked_units + row.weighted_units
    return forecasts, len(used)


@dataclass
class _Totals:
    """One (family, lag, forecast) cell's sums over the months scored."""

    months: set[int] = field(default_factory=set)
    actual: float = 0.0
    forecast: float = 0.0
    abs_error: float = 0.0
    error: float = 0.0


def score(origin, forecasts, actuals, targets, lags, families) -> list[AccuracyCell]:
    totals: defaultdict[tuple[str, int, str], _Totals] = defaultdict(_Totals)
    for (family, month, lag, name), value in forecasts.items():
        actual = float(actuals.get(family, {}).get(month, 0.0))
        for key in ((family, lag, name), (ALL, lag, name)):
            entry = totals[key]
            entry.months.add(month)
            entry.actual += actual
            entry.forecast += value
            entry.abs_error += abs(value - actual)
            entry.error += value - actual
    cells = []
    for family in families + [ALL]:
        for lag in lags:
            for name in ACCURACY_FORECASTS:
                found = totals.get((family, lag, name))
                if found is None:
                    continue
                cells.append(AccuracyCell(
                    origin, family, lag, name, len(found.months), round(found.actual, 6),
                    round(found.forecast, 6),
                    round(found.abs_error / found.actual, 6) if found.actual > 0 else None,
                    round(found.error / found.actual, 6) if found.actual > 0 else None,
                ))
    return cells


def added_value(origin: str, cells: list[AccuracyCell]) -> list[ValueAdded]:
    wmape = {(c.family, c.lag, c.forecast): c.wmape for c in cells}
    result = []
    for family, lag in dict.fromkeys((c.family, c.lag) for c in cells):
        for candidate, reference in COMPARISONS:
            a, b = wmape.get((family, lag, candidate)), wmape.get((family, lag, reference))
            fva = round(b - a, 6) if a is not None and b is not None else None
            result.append(ValueAdded(origin, family, lag, candidate, reference, fva))
    return result


def clear_cache() -> None:
    _cached.cache_clear()
