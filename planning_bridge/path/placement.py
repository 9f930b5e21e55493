"""Stage 5, placement into months: each row in the month of (expected close, or the as-of
date when that has passed, + the family's lead time), or spread over the learned slips
(weight w per month), and its contributions summed per family asked and month of the range
(the lead times, families and months come with stage 1's states): ``weighted`` Σ Q·p·w,
``revenue`` Σ amount·p·w, ``best`` Σ Q·w, ``commit`` Σ Q·w over commit rows, ``deals``, and
the moments or deal lists the bands are computed from (``bands.py``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from planning_bridge.path.probabilities import ProbabilityPlan
from planning_bridge.periods import month_index, month_indexes
from planning_bridge.timing import EARLIEST, OFFSETS

EXACT_CELL_DEALS = 5000  # cells with more deals use the approximation without gathering them


@dataclass(frozen=True)
class Placed:
    """The timed plan's rows summed per cell of ``wanted`` families x months ``first``..``last``."""

    plan: ProbabilityPlan
    sums: Sums
    lead_times: dict[str, int]
    first: int
    last: int
    wanted: list[str]


def place(timed: ProbabilityPlan) -> Placed:
    """The timed rows placed in the months and families asked (stage 1 read their lead times)."""
    states = timed.observed.states
    wanted = list(states.wanted)
    sums = accumulate(timed, states.lead_times, states.day, states.first, states.last, wanted)
    return Placed(timed, sums, states.lead_times, states.first, states.last, wanted)


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
