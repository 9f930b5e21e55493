"""The demo's calendar: the reference "today", working days, and business-hour moments.

The real date is used for one thing only: anchoring the two-year window so the demo looks
current. The anchor (the reference today) is the Monday of the current ISO week in UTC unless
the caller pins one (``seed-demo --today``). Every date in the history is an offset from it
drawn from the seeded random generator, so the same seed and the same reference today give
identical data; a run in another week builds a history of the same shape on the same weekdays.
All of the history lies strictly before the reference today at 00:00 UTC, so nothing the demo
writes is in the future.
"""
from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

HISTORY_WEEKS = 104  # the two-year window of deal history


def reference_today(now: datetime) -> date:
    """The Monday of ``now``'s ISO week in UTC: the demo's anchor."""
    day = now.astimezone(timezone.utc).date()
    return day - timedelta(days=day.weekday())


def history_start(today: date) -> date:
    return today - timedelta(weeks=HISTORY_WEEKS)


def end_of_history(today: date) -> datetime:
    return datetime.combine(today, time(0, 0), tzinfo=timezone.utc)


def next_workday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def business_moment(rng: random.Random, day: date, time_zone: str) -> datetime:
    """A moment between 8:15 and 17:45 on ``day`` (moved to Monday from a weekend) in the
    given zone, returned in UTC."""
    day = next_workday(day)
    minutes = rng.randint(8 * 60 + 15, 17 * 60 + 45)
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone(time_zone))
    return local.astimezone(timezone.utc)


class Clock:
    """Strictly increasing business-hour moments for one deal, so its changes replay in order
    even when two of them fall on the same day."""

    def __init__(self, rng: random.Random, time_zone: str, start: datetime) -> None:
        self.rng, self.time_zone, self.last = rng, time_zone, start

    @property
    def last_day(self) -> date:
        return self.last.date()

    def on(self, day: date) -> datetime:
        moment = business_moment(self.rng, day, self.time_zone)
        if moment <= self.last:
            moment = self.last + timedelta(minutes=self.rng.randint(5, 90))
        self.last = moment
        return moment


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means used here are small."""
    if mean <= 0:
        return 0
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))
