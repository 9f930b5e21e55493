"""How honest are the probabilities? Both sources scored on a time-based holdout.

1. Take every deal closed by the as-of date, observed at each review moment while it was open
   (``observations.py``), keeping the moments that have settled (most deals then open have
   closed by the as-of date; later moments would over-represent quick losses).
2. Cut at the day before which ``1 - HOLDOUT_SHARE`` of those moments lie. ``calibrated``
   learns only from deals closed by the cut, seen at moments settled by the cut, exactly as
   it would have on that day.
3. The holdout is every settled moment after the cut, with the features as they stood then
   and the outcome learned later: no deal is on both sides, nothing leaks.
4. Per source: the Brier score (mean of (p - outcome)², lower is better; 0.25 is what a coin
   flip scores on balanced outcomes), a reliability table (the holdout split into ten
   probability buckets, each with its mean predicted probability and the share that was won)
   and the expected calibration error (ECE: the buckets' |predicted - won| weighted by their
   share of the holdout; a source that says 90 % for deals won 70 % of the time scores high).

The unit counted is an *observation*: a closed deal seen at one review moment while open. A
deal open for three months is seen about six times. Reports say both: ``holdout_count``
observations of ``holdout_deals`` deals, closed after ``holdout_from``.

Three sources are scored: ``stage``, ``calibrated`` and ``blend`` (their average), the
candidates ``source_choice.py`` picks from per family.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np

from planning_bridge import crm_port
from planning_bridge.contracts import CalibrationReport, ReliabilityBucket
from planning_bridge.inputs import stage_probabilities
from planning_bridge.observations import Observations, observations_as_of, settled
from planning_bridge.probabilities import OverdueFactor, learn

HOLDOUT_SHARE = 0.3
MIN_DEALS = 20
BUCKETS = 10


def calibration_reports(*, as_of: date | None = None) -> list[CalibrationReport]:
    """``stage`` then ``calibrated``, scored on the same holdout. With too few closed deals
    both come back with ``holdout_count`` 0 and the reason in ``method``."""
    day = as_of or crm_port.utcnow().date()
    defaults = stage_probabilities()
    # In pipeline order, not sorted: the learned probabilities are made monotone along it.
    return list(_reports(day, crm_port.history_fingerprint(), tuple(defaults.items())))


@lru_cache(maxsize=16)
def _reports(day: date, _fingerprint, defaults: tuple) -> tuple[CalibrationReport, ...]:
    return tuple(score_sources(observations_as_of(day), dict(defaults), day))


def score_sources(observations: Observations, defaults: dict[str, float], as_of: date) -> list[CalibrationReport]:
    """Score both sources on the holdout of ``observations`` (all made by ``as_of``)."""
    until = np.datetime64(as_of, "D")
    usable = settled(observations, until)
    cut = holdout_cutoff(usable)
    if cut is None:
        reason = f"not enough history: a holdout needs at least {MIN_DEALS} closed deals seen at settled moments"
        return [CalibrationReport(source, 0.0, as_of, 0, (), reason) for source in ("stage", "calibrated", "blend")]
    train = settled(observations.take(observations.closed_on <= cut), cut)
    holdout = usable.take(usable.at.astype("datetime64[D]") > cut)
    learned = learn(train, defaults)
    outcome = holdout.won.astype(float)
    # The stage source as the demand input uses it: overdue deals scaled by what the training
    # side says overdue deals really won (``probabilities.OverdueFactor``).
    late = OverdueFactor.fit(train, defaults)
    stage_p = late.apply(np.array([defaults.get(s, 0.0) for s in holdout.features.stage], float),
                         holdout.features.overdue > 0)
    calibrated_p = learned.predict(holdout.features, defaults)
    window = ((cut + np.timedelta64(1, "D")).astype(object),
              usable.at.max().astype("datetime64[D]").astype(object))
    deals = len(set(holdout.deal.tolist()))
    calibrated_method = learned.method if learned.source == "calibrated" else f"fell back to {learned.method}"
    return [
        _report("stage", stage_p, outcome, window, "; ".join(filter(None, ("stage defaults", late.text))), 0, deals),
        _report("calibrated", calibrated_p, outcome, window, calibrated_method, len(train), deals),
        _report("blend", (stage_p + calibrated_p) / 2, outcome, window,
                "the average of the stage defaults and the calibrated probabilities", len(train), deals),
    ]


def holdout_cutoff(observations: Observations) -> np.datetime64 | None:
    """The day splitting the settled review moments: ``1 - HOLDOUT_SHARE`` of them before it."""
    deals = len(set(observations.deal.tolist()))
    if deals < MIN_DEALS:
        return None
    days = np.sort(observations.at.astype("datetime64[D]"))
    cut = days[int(len(days) * (1 - HOLDOUT_SHARE)) - 1]
    return cut if (days > cut).any() else None


def _report(source, p, outcome, window: tuple[date, date], method: str, train_count: int, deals: int):
    brier = float(np.mean((p - outcome) ** 2)) if p.size else 0.0
    buckets = reliability(p, outcome)
    return CalibrationReport(source, round(brier, 6), window[0], int(p.size), buckets, method, train_count,
                             deals, window[1], expected_calibration_error(buckets))


def expected_calibration_error(buckets) -> float:
    """Σ (bucket's share of the observations) × |mean predicted − share won|."""
    total = sum(b.count for b in buckets)
    if not total:
        return 0.0
    return round(sum(b.count / total * abs(b.mean_predicted - b.actual_rate) for b in buckets), 6)


def reliability(p: np.ndarray, outcome: np.ndarray, buckets: int = BUCKETS) -> tuple[ReliabilityBucket, ...]:
    """Non-empty buckets of width 1/``buckets`` (the last one includes 1.0)."""
    index = np.minimum((p * buckets).astype(int), buckets - 1)
    rows = []
    for b in range(buckets):
        mask = index == b
        if mask.any():
            rows.append(ReliabilityBucket(
                lower=b / buckets, upper=(b + 1) / buckets, count=int(mask.sum()),
                mean_predicted=round(float(p[mask].mean()), 6),
                actual_rate=round(float(outcome[mask].mean()), 6),
            ))
    return tuple(rows)


def clear_cache() -> None:
    _reports.cache_clear()
