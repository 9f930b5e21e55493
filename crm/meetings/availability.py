"""Free slots, as pure functions: no database, no clock. The services load the rules, the
existing meetings and the busy time, and pass ``now``.

Weekly hours are wall-clock times in the rep's zone, so every candidate start is built per
date with ``zoneinfo``: a wall time that does not exist (the hour skipped when clocks go
forward) is no slot; a wall time that happens twice (clocks go back) gives two slots an hour
apart, because the rep really is free at both. Durations are absolute (a 30-minute meeting
across a change lasts 30 real minutes). Everything returned is aware UTC.
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from crm.i18n import _

UTC = timezone.utc
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, order=True)
class WeeklyRange:
    weekday: int  # 0 = Monday
    start_minute: int  # minutes after local midnight
    end_minute: int  # up to 1440 (24:00)


@dataclass(frozen=True)
class Rules:
    time_zone: str
    weekly: tuple[WeeklyRange, ...]
    duration: timedelta
    increment: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(0)
    not_today: bool = False
    horizon_days: int = 30
    daily_max: int | None = None


@dataclass(frozen=True)
class BookedMeeting:
    """An existing confirmed meeting with the buffers it was booked with."""
    start: datetime
    end: datetime
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)

    @property
    def padded(self) -> tuple[datetime, datetime]:
        return self.start - self.buffer_before, self.end + self.buffer_after


# --- weekly hours as data ---------------------------------------------------------------------

def parse_hhmm(text: str) -> int:
    """"09:30" -> 570 minutes; "24:00" is the end of the day. :raises ValueError:"""
    match = _HHMM.match(str(text).strip())
    if not match:
        raise ValueError(_("use HH:MM (24-hour)"))
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > 1440:
        raise ValueError(_("use HH:MM (24-hour)"))
    return minutes


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def weekly_ranges(rows: Iterable[dict]) -> tuple[WeeklyRange, ...]:
    """Stored ``{"weekday", "start", "end"}`` rows (already validated) as ranges."""
    return tuple(sorted(
        WeeklyRange(int(r["weekday"]), parse_hhmm(r["start"]), parse_hhmm(r["end"])) for r in rows
    ))


# --- wall clock -> UTC ------------------------------------------------------------------------

def _wall(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(0)) + timedelta(minutes=minute)


def wall_to_utc(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant showing ``wall`` on the zone's clocks: none in a gap, two in an
    overlap, else one."""
    instants = []
    for fold in (0, 1):
        aware = wall.replace(tzinfo=zone, fold=fold)
        instant = aware.astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in instants:
            instants.append(instant)
    return instants


def _range_end_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The latest instant a range ending at ``wall`` may end: the later one in an overlap;
    for a wall time in a gap, the earlier reading (never past what the rep asked for)."""
    readings = [wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1)]
    exists = wall_to_utc(wall, zone)
    return max(exists) if exists else min(readings)


def _fixed_offset(day: date, zone: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset if it is the same all day (no clock change), else None."""
    midnight = datetime.combine(day, time(0))
    offsets = {(midnight + timedelta(hours=h)).replace(tzinfo=zone, fold=f).utcoffset()
               for h in (0, 24) for f in (0, 1)}
    return offsets.pop() if len(offsets) == 1 else None


def day_candidates(rules: Rules, day: date) -> list[datetime]:
    """The starts of one local date, sorted. Most days have one UTC offset all day, so wall
    times are shifted by arithmetic; a day with a clock change takes the careful path."""
    zone = ZoneInfo(rules.time_zone)
    step = max(int(rules.increment.total_seconds() // 60), 1)
    duration_min = rules.duration.total_seconds() / 60
    ranges = [r for r in rules.weekly if r.weekday == day.weekday()]
    if not ranges:
        return []
    offset = _fixed_offset(day, zone)
    starts: set[datetime] = set()
    if offset is not None:
        base = datetime.combine(day, time(0), tzinfo=UTC) - offset
        for r in ranges:
            minute = r.start_minute
            while minute + duration_min <= r.end_minute:
                starts.add(base + timedelta(minutes=minute))
                minute += step
        return sorted(starts)
    return careful_day_candidates(rules, day)


def careful_day_candidates(rules: Rules, day: date) -> list[datetime]:
    """Every wall time converted on its own: skips times in a gap, doubles times in an overlap."""
    zone = ZoneInfo(rules.time_zone)
    step = max(int(rules.increment.total_seconds() // 60), 1)
    duration_min = rules.duration.total_seconds() / 60
    starts: set[datetime] = set()
    for r in (r for r in rules.weekly if r.weekday == day.weekday()):
        range_end = _range_end_utc(_wall(day, r.end_minute), zone)
        minute = r.start_minute
        while minute + duration_min <= r.end_minute:
            for instant in wall_to_utc(_wall(day, minute), zone):
                if instant + rules.duration <= range_end:
                    starts.add(instant)
            minute += step
    return sorted(starts)


def candidate_starts(rules: Rules, first_day: date, last_day: date) -> list[datetime]:
    """Every start inside the weekly hours on the rep's local dates [first_day, last_day],
    on the increment grid from each range's start, whose meeting ends inside the range."""
    return [start for day, starts in candidates_by_day(rules, first_day, last_day) for start in starts]


def candidates_by_day(rules: Rules, first_day: date, last_day: date) -> list[tuple[date, list[datetime]]]:
    days = []
    day = first_day
    while day <= last_day:
        days.append((day, day_candidates(rules, day)))
        day += timedelta(days=1)
    return days


# --- busy time --------------------------------------------------------------------------------

class BusyIndex:
    """Merged, sorted busy intervals; ``overlaps`` is a binary search, so checking every
    candidate of 60 days against hundreds of events stays cheap."""

    def __init__(self, intervals: Iterable[tuple[datetime, datetime]]):
        merged: list[list[datetime]] = []
        for start, end in sorted((s, e) for s, e in intervals if e > s):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True if [start, end) meets any busy interval (touching ends do not overlap)."""
        i = bisect.bisect_right(self.ends, start)
        return i < len(self.starts) and self.starts[i] < end


def local_date(instant: datetime, zone_name: str) -> date:
    return instant.astimezone(ZoneInfo(zone_name)).date()


def free_slots(
    rules: Rules, *, now: datetime, window_start: datetime, window_end: datetime,
    meetings: Sequence[BookedMeeting] = (), busy: Sequence[tuple[datetime, datetime]] = (),
) -> list[datetime]:
    """Starts in [window_start, window_end) where a meeting can be booked now.

    A slot is taken with its own buffers around it, and must not meet an existing meeting
    together with that meeting's buffers (buffers stack), nor any other busy interval
    (prospecting blocks, external calendar). Minimum notice counts from ``now``; "not today"
    and the horizon count in the rep's local dates; the daily maximum counts the rep's
    confirmed meetings on that local date."""
    zone_name = rules.time_zone
    today = local_date(now, zone_name)
    first_day = max(local_date(window_start, zone_name), today + timedelta(days=1 if rules.not_today else 0))
    last_day = min(local_date(window_end, zone_name), today + timedelta(days=rules.horizon_days - 1))
    if first_day > last_day:
        return []
    earliest = max(window_start, now + rules.min_notice)
    index = BusyIndex([m.padded for m in meetings] + list(busy))
    per_day = Counter(local_date(m.start, zone_name) for m in meetings)
    slots = []
    for day, starts in candidates_by_day(rules, first_day, last_day):
        if rules.daily_max is not None and per_day[day] >= rules.daily_max:
            continue
        for start in starts:
            if start < earliest or start >= window_end:
                continue
            if not index.overlaps(start - rules.buffer_before, start + rules.duration + rules.buffer_after):
                slots.append(start)
    return slots


def window_for_days(start_day: date, days: int, zone_name: str) -> tuple[datetime, datetime]:
    """[local midnight of start_day, local midnight after days) in ``zone_name``, as UTC: the
    visitor's own days, whatever their clocks do in between."""
    zone = ZoneInfo(zone_name)
    first = datetime.combine(start_day, time(0), tzinfo=zone).astimezone(UTC)
    last = datetime.combine(start_day + timedelta(days=days), time(0), tzinfo=zone).astimezone(UTC)
    return first, last


def group_by_local_day(slots: Iterable[datetime], zone_name: str) -> list[tuple[date, list[datetime]]]:
    """Slots as (visitor's date, [local datetimes]) in order, for the public page."""
    zone = ZoneInfo(zone_name)
    days: dict[date, list[datetime]] = {}
    for slot in slots:
        local = slot.astimezone(zone)
        days.setdefault(local.date(), []).append(local)
    return sorted(days.items())
