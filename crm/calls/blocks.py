"""Prospecting time blocks: create, list, delete, and their expansion to UTC occurrences.

A block is stored in local wall-clock time with its zone; each occurrence is computed per
local date with ``zoneinfo``, so Monday-Friday 09:00-10:30 in New York is 14:00 UTC in winter
and 13:00 UTC in summer. ``busy_intervals`` answers the booking page's question for busy time
(``crm.signals.busy_time_requested``, connected by ``crm.calls.services.connect_signals``).

Blocks and meetings never silently overlap, whichever comes first: a booking inside a block
is refused by the booking (blocks are busy time), and a block over a confirmed meeting of the
rep is refused here (409 naming the meeting) unless the rep says to keep the meeting inside
it (``allow_overlap``). Both take the rep's calendar lock first (``lock_hosts`` of the
meetings services: the rep's lock row ``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite) and check after it, so a block and a booking racing for the same time cannot both win.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from sqlalchemy import select

from crm.calls.models import TimeBlock
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _, _l, ngettext
from crm.meetings.services import lock_hosts, meetings_between
from crm.timeutil import is_valid_timezone
from crm.web.formatting import current_locale

WEEKDAY_NAMES = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
MAX_BLOCKS_PER_USER = 100
# How far ahead an open-ended recurring block is checked against booked meetings: further than
# any booking link's horizon (at most 365 days) reaches.
OVERLAP_HORIZON = timedelta(days=2 * 366)
NAMED_MEETINGS = 3  # meetings named in the 409 message; the API lists them all


@dataclass(frozen=True)
class Occurrence:
    block_id: int
    title: str
    local_date: date
    start: datetime  # aware UTC
    end: datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def local_to_utc(day: date, at: time, zone: str) -> datetime:
    """Wall-clock ``at`` on ``day`` in ``zone`` as UTC. A time inside a spring-forward gap
    lands just after the gap (zoneinfo's fold=0 reading), which is what a calendar does."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def occurs_on(block: TimeBlock, day: date) -> bool:
    if block.kind == "one_off":
        return block.on_date == day
    if block.valid_from and day < block.valid_from:
        return False
    if block.valid_until and day > block.valid_until:
        return False
    return str(day.weekday()) in (block.weekdays or "")


def occurrences(blocks, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence of ``blocks`` overlapping [start, end), earliest first."""
    found = []
    for block in blocks:
        zone = ZoneInfo(block.time_zone)
        first = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date() + timedelta(days=1)
        day = first
        while day <= last:
            if occurs_on(block, day):
                begin = local_to_utc(day, block.start_time, block.time_zone)
                finish = local_to_utc(day, block.end_time, block.time_zone)
                if begin < end and finish > start and finish > begin:
                    found.append(Occurrence(block.id, block.title, day, begin, finish))
            day += timedelta(days=1)
    return sorted(found, key=lambda o: (o.start, o.block_id))


def blocks_of(user_id: int) -> list[TimeBlock]:
    return list(db.session.scalars(
        select(TimeBlock).where(TimeBlock.user_id == user_id).order_by(TimeBlock.id)
    ))


def busy_intervals(user_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The user's prospecting blocks overlapping [start, end), as aware UTC (start, end) pairs,
    recurring blocks expanded at their local wall-clock time. Overlapping blocks are merged."""
    merged: list[list[datetime]] = []
    for occ in occurrences(blocks_of(user_id), start, end):
        if merged and occ.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], occ.end)
        else:
            merged.append([occ.start, occ.end])
    return [(a, b) for a, b in merged]


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """A local calendar day in ``zone`` as a UTC [start, end) (23 or 25 hours on DST days)."""
    return local_to_utc(day, time(0), zone), local_to_utc(day + timedelta(days=1), time(0), zone)


def day_occurrences(user, day: date) -> list[Occurrence]:
    """The rep's blocks on their local ``day``."""
    start, end = day_bounds(day, user.time_zone or "UTC")
    return occurrences(blocks_of(user.id), start, end)


def blocked_minutes(user, day: date, since: datetime | None = None) -> int:
    """Minutes of the rep's blocks on their local ``day``; with ``since``, only what is left of
    them after that moment (at 15:35 a 09:00-10:30 block has passed and counts for nothing)."""
    start, end = day_bounds(day, user.time_zone or "UTC")
    if since is not None:
        start = max(start, since)
    if start >= end:
        return 0
    return sum(int((min(b, end) - max(a, start)).total_seconds() // 60)
               for a, b in busy_intervals(user.id, start, end) if min(b, end) > max(a, start))


# --- create / delete ------------------------------------------------------------------------

def _parse_weekdays(weekdays) -> str:
    digits = sorted({int(d) for d in weekdays})
    if not digits or any(d < 0 or d > 6 for d in digits):
        raise ValueError
    return "".join(str(d) for d in digits)


class BlockOverlapsMeeting(Conflict):
    """The block would cover confirmed meetings of the rep (``meetings``: ``MeetingView``s of
    ``crm.meetings.services``, soonest first)."""

    def __init__(self, message: str, fields: dict[str, str], meetings: list):
        super().__init__(message, fields)
        self.meetings = meetings


def create_block(actor, data: dict, now: datetime) -> TimeBlock:
    """``data``: kind (recurring | one_off), start_time, end_time (``time``), weekdays (list of
    0-6, Monday=0) for recurring, on_date for one-off, optional valid_from/valid_until, title,
    time_zone (defaults to the actor's zone), allow_overlap (keep confirmed meetings inside the
    block instead of refusing it).
    :raises BlockOverlapsMeeting: (409) the block covers a meeting and allow_overlap is off"""
    errors: dict[str, str] = {}
    kind = data.get("kind") or "recurring"
    if kind not in ("recurring", "one_off"):
        errors["kind"] = _("recurring or one_off")
    start, end = data.get("start_time"), data.get("end_time")
    if not isinstance(start, time):
        errors["start_time"] = _("a time such as 09:00")
    if not isinstance(end, time):
        errors["end_time"] = _("a time such as 10:30")
    if isinstance(start, time) and isinstance(end, time) and end <= start:
        errors["end_time"] = _("must be after the start (blocks do not cross midnight)")
    zone = data.get("time_zone") or actor.time_zone or "UTC"
    if not is_valid_timezone(zone):
        errors["time_zone"] = _("an IANA time zone such as Europe/Berlin")
    weekdays = ""
    if kind == "recurring":
        try:
            weekdays = _parse_weekdays(data.get("weekdays") or [])
        except (TypeError, ValueError):
            errors["weekdays"] = _("choose at least one weekday")
    if kind == "one_off" and not isinstance(data.get("on_date"), date):
        errors["on_date"] = _("the date of the block")
    valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = _("must not be before valid from")
    title = (data.get("title") or "Prospecting").strip()[:100] or "Prospecting"
    if errors:
        raise ValidationFailed(_("the block is not valid"), errors)
    # The rep's calendar lock, the one booking takes before it re-checks: from here to the
    # commit no booking of this rep can run its check, and any booking that committed before
    # is seen by the queries below (each statement reads what is committed when it starts).
    lock_hosts([actor.id])
    if len(blocks_of(actor.id)) >= MAX_BLOCKS_PER_USER:
        raise ValidationFailed(
            _("too many blocks"),
            {"kind": _("at most %(MAX_BLOCKS_PER_USER)s blocks", MAX_BLOCKS_PER_USER=MAX_BLOCKS_PER_USER)})
    block = TimeBlock(
        user_id=actor.id, title=title, kind=kind, weekdays=weekdays,
        start_time=start.replace(second=0, microsecond=0, tzinfo=None),
        end_time=end.replace(second=0, microsecond=0, tzinfo=None), time_zone=zone,
        on_date=data.get("on_date") if kind == "one_off" else None,
        valid_from=valid_from if kind == "recurring" else None,
        valid_until=valid_until if kind == "recurring" else None, created_at=now,
    )
    if not data.get("allow_overlap"):
        covered = covered_meetings(actor.id, block, now)
        if covered:
            raise BlockOverlapsMeeting(_overlap_message(covered, zone), {
                "allow_overlap": "keep the meeting inside this block, or choose other times"}, covered)
    db.session.add(block)
    db.session.flush()
    return block


def covered_meetings(user_id: int, block: TimeBlock, now: datetime) -> list:
    """The rep's confirmed meetings, not yet over at ``now``, that an occurrence of ``block``
    (saved or not) overlaps, soonest first. Past meetings do not count: a new weekly block
    is not about last month."""
    if block.kind == "one_off":
        start, end = day_bounds(block.on_date, block.time_zone)
    else:
        start = now
        if block.valid_from:
            start = max(start, day_bounds(block.valid_from, block.time_zone)[0])
        end = now + OVERLAP_HORIZON
        if block.valid_until:
            end = min(end, day_bounds(block.valid_until, block.time_zone)[1])
    start = max(start, now)
    if end <= start:
        return []
    return [m for m in meetings_between(user_id, start, end) if occurrences([block], m.start, m.end)]


def _when(moment: datetime, tz: ZoneInfo) -> str:
    """'Mon 16 Mar 2026 10:00' in the reader's language ('lun 16 mar 2026 10:00')."""
    return babel_dates.format_datetime(moment, "EEE d MMM y HH:mm", tzinfo=tz, locale=current_locale())


def _overlap_message(meetings: list, zone: str) -> str:
    tz = ZoneInfo(zone)
    named = [_("'%(title)s' on %(start)s-%(end)s", title=m.title,
               start=_when(m.start, tz), end=f"{m.end.astimezone(tz):%H:%M}")
             for m in meetings[:NAMED_MEETINGS]]
    more = len(meetings) - len(named)
    listed = ", ".join(named)
    if more:
        listed = ngettext("%(listed)s and %(num)s more", "%(listed)s and %(num)s more", more, listed=listed)
    return ngettext("This block overlaps your meeting %(listed)s (%(zone)s).",
                    "This block overlaps your meetings %(listed)s (%(zone)s).", len(meetings), listed=listed, zone=zone)


def delete_block(actor, block_id: int) -> None:
    block = db.session.get(TimeBlock, block_id) if block_id else None
    if block is None:
        raise NotFound(_("no such time block"))
    if block.user_id != actor.id and actor.role != "admin":
        raise PermissionDenied(_("this is not your time block"))
    db.session.delete(block)
    db.session.flush()


def describe(block: TimeBlock) -> str:
    """A block in the reader's language: 'Mon 16 Mar 2026 09:00-12:00 (Europe/Berlin)', or
    'Mon, Wed 09:00-12:00 (Europe/Berlin), 16 Mar 2026 to …' for a weekly one."""
    hours = f"{block.start_time:%H:%M}-{block.end_time:%H:%M} ({block.time_zone})"
    if block.kind == "one_off":
        return f"{babel_dates.format_date(block.on_date, 'EEE d MMM y', locale=current_locale())} {hours}"
    days = ", ".join(str(WEEKDAY_NAMES[int(d)]) for d in block.weekdays)
    span = ""
    if block.valid_from or block.valid_until:
        span = ", " + _("%(start)s to %(end)s", start=_day(block.valid_from), end=_day(block.valid_until))
    return f"{days} {hours}{span}"


def _day(value: date | None) -> str:
    return babel_dates.format_date(value, "d MMM y", locale=current_locale()) if value else "…"
