"""The rep's secret ICS feed: prospecting blocks (recurring ones as one VEVENT with an RRULE in
the block's own zone, so calendars keep them at wall-clock time across DST) and meetings.
Google Calendar and Outlook want: VERSION, PRODID, METHOD:PUBLISH, a VTIMEZONE for every TZID,
a stable UID and a DTSTAMP on each event."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import Calendar, Event, vRecur

from crm.calls.blocks import blocks_of
from crm.calls.models import TimeBlock
from crm.meetings.services import meetings_between

ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MEETINGS_BACK = timedelta(days=30)
MEETINGS_AHEAD = timedelta(days=180)


def _domain() -> str:
    return current_app.config.get("MAIL_FROM_DOMAIN", "crm.localhost")


def block_event(block: TimeBlock, now: datetime) -> Event:
    zone = ZoneInfo(block.time_zone)
    first = block.on_date if block.kind == "one_off" else (block.valid_from or block.created_at.astimezone(zone).date())
    event = Event()
    event.add("uid", f"call-block-{block.id}@{_domain()}")
    event.add("dtstamp", now)
    event.add("summary", block.title)
    event.add("description", "Prospecting time (blocked in Prospect CRM)")
    event.add("dtstart", datetime.combine(first, block.start_time, tzinfo=zone))
    event.add("dtend", datetime.combine(first, block.end_time, tzinfo=zone))
    event.add("transp", "OPAQUE")
    event.add("categories", ["Prospecting"])
    if block.kind == "recurring":
        rule = {"freq": "weekly", "byday": [ICAL_DAYS[int(d)] for d in block.weekdays]}
        if block.valid_until:
            # UNTIL must be UTC when DTSTART has a TZID (RFC 5545): the end of that local day.
            end = datetime.combine(block.valid_until, block.end_time, tzinfo=zone).astimezone(ZoneInfo("UTC"))
            rule["until"] = end
        event.add("rrule", vRecur(rule))
    return event


def meeting_event(meeting, now: datetime) -> Event:
    event = Event()
    # The meeting's own UID and SEQUENCE, as in its invites (one event per meeting, issue 24).
    event.add("uid", meeting.uid or f"meeting-{meeting.id}@{_domain()}")
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now)
    event.add("summary", meeting.title)
    event.add("dtstart", meeting.start)
    event.add("dtend", meeting.end)
    event.add("transp", "OPAQUE")
    return event


def feed_calendar(user, now: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Prospect CRM//Prospecting blocks//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{user.name}: prospecting")
    calendar.add("x-wr-timezone", user.time_zone or "UTC")
    calendar.add("refresh-interval;value=duration", "PT1H")
    calendar.add("x-published-ttl", "PT1H")
    for block in blocks_of(user.id):
        calendar.add_component(block_event(block, now))
    for meeting in meetings_between(user.id, now - MEETINGS_BACK, now + MEETINGS_AHEAD):
        calendar.add_component(meeting_event(meeting, now))
    calendar.add_missing_timezones()
    return calendar.to_ical()


__all__ = ["feed_calendar"]
