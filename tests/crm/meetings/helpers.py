"""Shared helpers for meetings tests: a bookable future date from the real clock (the API
uses the real time), and invite parsing."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar

from crm.timeutil import utcnow

BERLIN = ZoneInfo("Europe/Berlin")


def future_weekday(weekday: int = 0, min_days: int = 3) -> date:
    """The first ``weekday`` (0 = Monday) at least ``min_days`` from today."""
    day = utcnow().date() + timedelta(days=min_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def berlin_at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=BERLIN)


def calendar_part(message):
    """The text/calendar part of an invite and its parsed calendar."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    return parts[0], icalendar.Calendar.from_ical(parts[0].get_content())


def the_event(calendar):
    events = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert len(events) == 1
    return events[0]


def text_part(message) -> str:
    return next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()


def delivered(sink, count: int):
    """Run the mail outbox's send tick (invites are queued by the booking, sent by the tick)
    and return what the SMTP server received once ``count`` messages are there."""
    from crm.mail.outbound.sender import send_due

    send_due(utcnow())
    return sink.wait_for(count)
