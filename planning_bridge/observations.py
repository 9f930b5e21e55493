"""Learning material from the CRM's own history, without peeking at the future.

An *observation* is a closed deal seen at one moment while it was still open: its state then
(stage, days in stage, age, amount, main family, days since the last touch, expected close)
and how it ended (won or lost, and when). Moments are the 1st and the 16th of each month,
00:00 UTC, so a deal open for three months yields about six observations, much as it would
have been seen in semi-monthly pipeline reviews. Everything about the moment comes from the
deal's history replayed to that moment (``DealHistory.state_at``); only the label is later.

The same observations feed the win-probability models (``probabilities.py``), their
time-based holdout (``calibration.py``) and the learned close-date slips (``timing.py``), each
keeping only the moments that have *settled* (``settled``): long enough ago that the deals
then open have mostly closed, so the sample is not tilted toward quick losses.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import numpy as np

from planning_bridge import crm_port
from planning_bridge.inputs import deal_histories

SECONDS_PER_DAY = 86_400.0
SETTLED_SHARE = 0.9
MIN_SETTLING, MAX_SETTLING = 30, 365


@dataclass(frozen=True)
class Features:
    """Model inputs as parallel arrays (one entry per deal and moment)."""

    stage: np.ndarray            # str
    family: np.ndarray           # str: the family with the largest amount
    days_in_stage: np.ndarray
    age_days: np.ndarray
    amount: np.ndarray
    days_since_touch: np.ndarray  # NaN when the deal was never touched
    # Days since the expected close had passed (0 while it lies ahead): a deal still open past
    # its close date is less likely to be won than its stage says. None: not known (all 0).
    days_overdue: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.stage.size)

    def take(self, mask) -> Features:
        return Features(**{f: getattr(self, f)[mask] for f in FEATURE_FIELDS},
                        days_overdue=None if self.days_overdue is None else self.days_overdue[mask])

    @property
    def overdue(self) -> np.ndarray:
        return np.zeros(len(self)) if self.days_overdue is None else self.days_overdue


FEATURE_FIELDS = ("stage", "family", "days_in_stage", "age_days", "amount", "days_since_touch")


@dataclass(frozen=True)
class Observations:
    features: Features
    deal: np.ndarray             # str deal id
    at: np.ndarray               # datetime64[s]: the moment seen
    expected_close: np.ndarray   # datetime64[D]: the expected close then
    won: np.ndarray              # bool
    closed_on: np.ndarray        # datetime64[D]

    def __len__(self) -> int:
        return len(self.features)

    def take(self, mask) -> Observations:
        return Observations(self.features.take(mask), self.deal[mask], self.at[mask],
                            self.expected_close[mask], self.won[mask], self.closed_on[mask])


def review_moments(start: datetime, stop: datetime) -> list[datetime]:
    """The 1st and 16th of each month (00:00 UTC) strictly after ``start``, before ``stop``."""
    moments: list[datetime] = []
    year, month = start.year, start.month
    while True:
        for day in (1, 16):
            moment = datetime(year, month, day, tzinfo=timezone.utc)
            if moment >= stop:
                return moments
            if moment > start:
                moments.append(moment)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def features_of_states(states, moments) -> Features:
    """Features of replayed deal states (``DealState``), each seen at its moment (one moment
    for all, or one per state)."""
    if isinstance(moments, datetime):
        moments = [moments] * len(states)
    pairs = list(zip(states, moments))
    return Features(
        stage=np.array([s.stage for s in states], dtype=object),
        family=np.array([main_family(s.lines) for s in states], dtype=object),
        days_in_stage=np.array([_days(m - s.stage_entered_at) for s, m in pairs], dtype=float),
        age_days=np.array([_days(m - s.created_at) for s, m in pairs], dtype=float),
        amount=np.array([float(s.amount) for s in states], dtype=float),
        days_since_touch=np.array(
            [_days(m - s.last_activity_at) if s.last_activity_at else np.nan for s, m in pairs],
            dtype=float,
        ),
        days_overdue=np.array([max((m.date() - s.expected_close).days, 0) for s, m in pairs], dtype=float),
    )


def main_family(lines) -> str:
    totals: dict[str, float] = {}
    for line in lines:
        totals[line.family] = totals.get(line.family, 0.0) + float(line.amount)
    return max(sorted(totals), key=lambda f: totals[f]) if totals else ""


def settling_days(observations: Observations, share: float = SETTLED_SHARE) -> int:
    """How long after a review moment ``share`` of the observed deals had closed (in days,
    between ``MIN_SETTLING`` and ``MAX_SETTLING``)."""
    if len(observations) == 0:
        return MIN_SETTLING
    waits = (observations.closed_on - observations.at.astype("datetime64[D]")).astype(int)
    return int(np.clip(np.quantile(waits, share), MIN_SETTLING, MAX_SETTLING))


def settled(observations: Observations, until: np.datetime64) -> Observations:
    """Only the observations made at least the settling time before ``until``.

    Labels are known only for deals closed by ``until``. Near that date, the deals seen open
    and already closed are mostly the quick ones, and quick deals are mostly lost ones (a deal
    is dropped early; winning takes the whole pipeline): learning from, or scoring on, those
    recent moments would make every deal look worse than it is. By the settling time most
    deals seen at a moment have closed, so what remains is a fair sample."""
    horizon = np.timedelta64(settling_days(observations), "D")
    return observations.take(observations.at.astype("datetime64[D]") <= until - horizon)


def observations_as_of(as_of: date) -> Observations:
    """Every closed-by-``as_of`` deal seen at each review moment while it was open. Cached per
    ``as_of`` and state of the CRM's history."""
    return _observations(as_of, crm_port.history_fingerprint())


@lru_cache(maxsize=32)
def _observations(as_of: date, _fingerprint) -> Observations:
    end = crm_port.end_of_day(as_of)
    rows = []
    for history in deal_histories(closed_only=True):  # deals reopened since are left out
        if history.created_at >= end:
            continue
        final = history.state_at(end)
        if final is None or final.is_open:
            continue
        for moment in review_moments(history.created_at, end):
            state = history.state_at(moment)
            if state is None or not state.is_open:
                break
            rows.append((state, moment, final))
    return _assemble(rows)


def _assemble(rows) -> Observations:
    if not rows:
        empty = np.zeros(0)
        none = np.array([], dtype=object)
        return Observations(
            Features(none, none, empty, empty, empty, empty), none,
            np.zeros(0, "datetime64[s]"), np.zeros(0, "datetime64[D]"), np.zeros(0, bool),
            np.zeros(0, "datetime64[D]"),
        )
    states = [state for state, _m, _f in rows]
    moments = [m for _s, m, _f in rows]
    features = features_of_states(states, moments)
    return Observations(
        features=features,
        deal=np.array([s.deal_id for s in states], dtype=object),
        at=np.array([np.datetime64(m.replace(tzinfo=None), "s") for m in moments]),
        expected_close=np.array([s.expected_close for s in states], dtype="datetime64[D]"),
        won=np.array([f.status == "won" for _s, _m, f in rows]),
        closed_on=np.array([f.closed_on for _s, _m, f in rows], dtype="datetime64[D]"),
    )


def _days(delta: timedelta) -> float:
    return max(delta.total_seconds() / SECONDS_PER_DAY, 0.0)


def clear_cache() -> None:
    _observations.cache_clear()
