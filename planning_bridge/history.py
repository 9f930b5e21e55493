"""Actual demand per family and month, and the statistical baseline made from it.

Where actuals come from, per family: the ERP's actual orders imported with ``planning
import-actuals`` when the family has any; otherwise the lines of won CRM deals stand in, each
in the month of (close date + the family's delivery lead time), the same timing the pipeline
uses. Imported actuals are taken to be booked in the month the demand fell due, like the
pipeline's demand months.

Two histories per family feed two baselines:

* ``total``: all actuals, as the planner's outlier decisions leave them (``settings.py``): the
  ``baseline`` combine rule and the "baseline alone" accuracy benchmark use it;
* ``other``: the actuals that did not come from CRM deals, i.e. total minus the units of won
  CRM deals in the same month (never below zero). ``baseline_plus_pipeline`` adds the weighted
  pipeline to the baseline of this history, so a deal's units are counted once: as pipeline
  while open, and never in the baseline it is added to. Without imported actuals it is zero
  here, and ``demand.not_yet_in_pipeline`` makes that family's baseline from the won-deal
  history instead (what it expects beyond booked orders and the pipeline).

A history runs from the family's first month with demand to the last month fully past at the
as-of date (for imported actuals, at most to the last imported month), zeros filling months
without orders. Baseline months inside the history take the method's fitted values, later
months its forecast from the whole history (``planning_bridge.baseline.forecast_baseline``).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.baseline import flag_outliers as baseline_outliers
from planning_bridge.baseline import forecast_baseline
from planning_bridge.contracts import BaselineForecast
from planning_bridge.models import Actual, OutlierOverride
from planning_bridge.periods import completed_through, month_index, parse_period, period_index, period_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FamilyHistory:
    family: str
    source: str                      # "imported", "won_deals" or "none"
    first: int                       # month index of the first value
    raw: np.ndarray                  # actuals as recorded
    total: np.ndarray                # after the planner's outlier decisions
    other: np.ndarray                # total minus won CRM deals' units
    suggested: dict[int, float] = field(default_factory=dict)  # accepted flags without a value
    stale: set[int] = field(default_factory=set)  # decisions made on another value: not applied

    @property
    def last(self) -> int:
        return self.first + self.raw.size - 1

    def months(self) -> range:
        return range(self.first, self.first + self.raw.size)


def imported_actuals() -> dict[str, dict[int, float]]:
    found: dict[str, dict[int, float]] = defaultdict(dict)
    for family, period, units in crm_port.db.session.execute(
        select(Actual.family, Actual.period, Actual.units)
    ):
        found[family][period_index(period)] = float(units)
    return dict(found)


def won_units(lead_times: dict[str, int], as_of: date | None = None) -> dict[str, dict[int, float]]:
    """Won CRM deals' units per family and demand month (closed by ``as_of`` when given)."""
    found: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for won in crm_port.won_line_totals():
        if as_of is not None and won.closed_on > as_of:
            continue
        month = month_index(won.closed_on + timedelta(days=lead_times.get(won.family, 0)))
        found[won.family][month] += won.quantity
    return {family: dict(months) for family, months in found.items()}


def actuals_by_family(start: str, end: str) -> dict[str, dict[str, float]]:
    """family → period → actual units between ``start`` and ``end`` (``YYYY-MM``, inclusive),
    from imported actuals, or won deals' lines (due by the end of this month) for families
    without any."""
    first, last = parse_period(start), parse_period(end)
    if first is None or last is None:
        raise crm_port.ValidationFailed(_("invalid period"), {"period": _("YYYY-MM")})
    lead_times = {f.code: f.lead_time_days for f in crm_port.product_families()}
    imported, won = imported_actuals(), won_units(lead_times)
    this_month = month_index(crm_port.utcnow().date())
    result = {}
    for family in lead_times:
        # Won deals due after this month are booked, not yet actual.
        months = imported.get(family) or {m: u for m, u in won.get(family, {}).items() if m <= this_month}
        result[family] = {period_text(m): units for m, units in sorted(months.items()) if first <= m <= last}
    return result


def family_histories(lead_times: dict[str, int], as_of: date) -> dict[str, FamilyHistory]:
    imported, won = imported_actuals(), won_units(lead_times, as_of)
    overrides = _overrides()
    through = completed_through(as_of)
    histories = {}
    for family in lead_times:
        histories[family] = build_history(
            family, imported.get(family), won.get(family, {}), overrides.get(family, {}), through
        )
    return histories


def build_history(family, imported, won, overrides, through: int) -> FamilyHistory:
    source, months = ("imported", imported) if imported else ("won_deals", won)
    last = min(max(months), through) if months else through
    present = [m for m, units in months.items() if units > 0 and m <= last]
    if not present:
        empty = np.zeros(0)
        return FamilyHistory(family, "none", last + 1, empty, empty, empty)
    first = min(present)
    raw = np.array([months.get(m, 0.0) for m in range(first, last + 1)], dtype=float)
    total, suggested, stale = apply_overrides(raw, first, overrides)
    deals = np.array([won.get(m, 0.0) for m in range(first, last + 1)], dtype=float)
    other = np.maximum(total - deals, 0.0) if source == "imported" else np.zeros_like(total)
    return FamilyHistory(family, source, first, raw, total, other, suggested, stale)


def apply_overrides(raw: np.ndarray, first: int, overrides: dict[int, OutlierOverride]):
    """The history the baseline reads: a month with a planner's value takes it; an accepted
    flag without a value takes the baseline's fitted value there; a rejected flag keeps the
    original. The original stays in ``raw``.

    A decision belongs to the value it was made on (``original_units``): when a later import
    changed that month's actual, the decision is not applied (the new value is read) and the
    month is returned in ``stale``, for the planner to review."""
    total = raw.copy()
    suggested: dict[int, float] = {}
    stale: set[int] = set()
    fitted = None
    for month, decision in overrides.items():
        index = month - first
        if not 0 <= index < raw.size:
            continue
        if decided_on_another_value(decision, float(raw[index])):
            stale.add(month)
            continue
        if decision.value is not None:
            total[index] = decision.value
        elif decision.accepted:
            if fitted is None:
                fitted = forecast(tuple(raw.tolist()), 1).fitted
            suggested[month] = max(float(fitted[index]), 0.0)
            total[index] = suggested[month]
    return total, suggested, stale


def decided_on_another_value(decision: OutlierOverride, actual: float) -> bool:
    recorded = decision.original_units
    return recorded is not None and abs(float(recorded) - actual) > 1e-6 * max(1.0, abs(actual))


def _overrides() -> dict[str, dict[int, OutlierOverride]]:
    found: dict[str, dict[int, OutlierOverride]] = defaultdict(dict)
    for decision in crm_port.db.session.scalars(select(OutlierOverride)):
        found[decision.family][period_index(decision.period)] = decision
    return dict(found)


def baseline_values(history: np.ndarray, first: int, start: int, end: int) -> tuple[np.ndarray, str]:
    """Baseline units for months ``start``..``end`` from a history beginning in ``first``."""
    values = np.zeros(end - start + 1)
    if history.size == 0 or not np.any(history > 0):
        return values, "none"
    last = first + history.size - 1
    result = forecast(tuple(history.tolist()), max(end - last, 1))
    for i, month in enumerate(range(start, end + 1)):
        if first <= month <= last:
            values[i] = result.fitted[month - first]
        elif month > last:
            values[i] = result.forecast[month - last - 1]
    return np.maximum(values, 0.0), result.method


@lru_cache(maxsize=512)
def forecast(history: tuple[float, ...], horizon: int) -> BaselineForecast:
    """The baseline helper's forecast, cached: histories repeat across requests and backtests."""
    try:
        return forecast_baseline(history, horizon)
    except Exception:  # a failing fit must not take the demand input down with it
        log.exception("baseline failed for a history of %d months; using its recent mean", len(history))
        level = float(np.mean(history[-12:]))
        return BaselineForecast((level,) * len(history), (level,) * horizon, "mean (fallback)")


def flag_outliers(history: np.ndarray) -> tuple[int, ...]:
    if history.size == 0:
        return ()
    try:
        return tuple(int(i) for i in baseline_outliers(tuple(history.tolist())))
    except Exception:
        log.exception("outlier flags failed for a history of %d months", history.size)
        return ()
