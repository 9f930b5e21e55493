"""When steps happen: pure functions, no database.

- Delays are counted in **business days on the rep's working days, in the rep's zone**: "2
  days after Friday 16:00" is Tuesday 16:00 in the rep's calendar.
- Emails go out inside the sequence's **send window in the contact's zone** (default Mon-Fri
  08:00-17:00), so nobody gets mail at 3 a.m. Window edges are wall-clock times: across a DST
  change 08:00 stays 08:00 local, whatever that is in UTC.
- A small **jitter** (stable per enrollment and step) spreads a bulk enrollment's first
  emails over the start of the window instead of sending them all at 08:00:00.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from crm.timeutil import is_valid_timezone

MAX_JITTER_SECONDS = 15 * 60


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if is_valid_timezone(name) else ZoneInfo("UTC")


def _wall_time_to_utc(day: date, minute_of_day: int, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as UTC. A time that does not exist (inside a spring-forward
    gap) resolves to the same distance after the gap's start; 24:00 is the next midnight."""
    extra_days, minute_of_day = divmod(minute_of_day, 24 * 60)
    local = datetime.combine(day + timedelta(days=extra_days), time(minute_of_day // 60, minute_of_day % 60), tz)
    return local.astimezone(timezone.utc)


def add_business_days(start: datetime, days: int, *, zone_name: str | None,
                      workdays: frozenset[int] | set[int] = frozenset(range(5))) -> datetime:
    """``start`` moved forward by ``days`` working days of the rep, keeping the wall-clock
    time in the rep's zone. Zero days is ``start`` itself. Days off are skipped; starting on a
    day off counts from it (Saturday + 1 business day = Monday, same time)."""
    if days <= 0:
        return start
    workdays = set(workdays) or set(range(5))
    tz = zone(zone_name)
    local = start.astimezone(tz)
    day = local.date()
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if day.weekday() in workdays:
            remaining -= 1
    minute = local.hour * 60 + local.minute
    moved = _wall_time_to_utc(day, minute, tz)
    return moved + timedelta(seconds=local.second, microseconds=local.microsecond)


def next_send_moment(at: datetime, *, zone_name: str | None, days: list[int] | set[int],
                     start_minute: int, end_minute: int) -> datetime:
    """The earliest moment at or after ``at`` inside the send window in ``zone_name``."""
    tz = zone(zone_name)
    allowed = set(days) or set(range(5))
    at = at.astimezone(timezone.utc)
    day = at.astimezone(tz).date() - timedelta(days=1)  # yesterday's window may run past midnight UTC-wise
    for _ in range(9):
        if day.weekday() in allowed:
            opens = _wall_time_to_utc(day, start_minute, tz)
            closes = _wall_time_to_utc(day, end_minute, tz)
            if at < closes:
                return max(at, opens)
        day += timedelta(days=1)
    raise ValueError("the send window has no day")  # unreachable with a non-empty day set


def in_window(at: datetime, *, zone_name: str | None, days, start_minute: int, end_minute: int) -> bool:
    return next_send_moment(at, zone_name=zone_name, days=days, start_minute=start_minute,
                            end_minute=end_minute) == at.astimezone(timezone.utc)


def jitter_seconds(enrollment_id: int, step_id: int | None, window_seconds: int) -> int:
    """A stable offset in [0, min(15 min, window/4)) for this enrollment and step."""
    span = max(1, min(MAX_JITTER_SECONDS, window_seconds // 4))
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % span


def send_moment_for(at: datetime, *, zone_name: str | None, days, start_minute: int, end_minute: int,
                    enrollment_id: int, step_id: int | None) -> datetime:
    """The send time of a step due at ``at``: inside the window; when that is the window's
    opening, spread by the enrollment's jitter (never pushed out of the window)."""
    moment = next_send_moment(at, zone_name=zone_name, days=days, start_minute=start_minute,
                              end_minute=end_minute)
    if moment > at.astimezone(timezone.utc):  # waited for the window to open: spread the crowd
        window_seconds = (end_minute - start_minute) * 60
        moment += timedelta(seconds=jitter_seconds(enrollment_id, step_id, window_seconds))
    return moment
