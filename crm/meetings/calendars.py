"""External calendars: parse an .ics (feed or upload) into busy intervals, recurrences expanded
by ``recurring-ical-events`` (RRULE, RDATE, EXDATE, moved occurrences); events marked free
(``TRANSP:TRANSPARENT``) and cancelled ones do not block. The intervals are stored as rows so
computing slots never parses a calendar."""
from __future__ import annotations

import ipaddress
import logging
import socket
import urllib.parse
import urllib.request
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from flask import current_app
from sqlalchemy import delete, select

from crm.errors import NotFound, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.meetings.models import ExternalBusy, ExternalCalendar
from crm.validation import check_web_url, get_by_id

log = logging.getLogger(__name__)

MAX_ICS_BYTES = 2 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 10
EXPAND_PAST = timedelta(days=1)
EXPAND_AHEAD = timedelta(days=180)
REFRESH_EVERY = timedelta(minutes=15)
MAX_EVENTS = 20_000


class CalendarError(ValueError):
    """The file or feed is not a usable iCalendar."""


def _as_utc(value, zone: ZoneInfo) -> datetime:
    """DTSTART/DTEND as aware UTC: all-day dates start at local midnight, floating times are
    read in the rep's zone."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=zone)
        return aware.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(timezone.utc)
    raise CalendarError(_("event without a usable start"))


def busy_from_ics(data: bytes, *, zone_name: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Busy (start, end) pairs of every opaque event occurrence overlapping [start, end)."""
    if len(data) > MAX_ICS_BYTES:
        raise CalendarError(_("the calendar is larger than %(MAX_ICS_BYTES)s MB",
                              MAX_ICS_BYTES=MAX_ICS_BYTES // 1024 // 1024))
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # icalendar raises ValueError and friends on junk
        raise CalendarError(_("not an iCalendar file")) from exc
    if calendar.name != "VCALENDAR":
        raise CalendarError(_("not an iCalendar file"))
    zone = ZoneInfo(zone_name)
    try:
        occurrences = recurring_ical_events.of(calendar).between(start, end)
    except Exception as exc:
        raise CalendarError(_("the calendar could not be expanded: %(exc)s", exc=exc)) from exc
    busy = []
    for event in occurrences:
        if event.name != "VEVENT":
            continue
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        dtstart = event.get("DTSTART")
        if dtstart is None:
            continue
        begin = _as_utc(dtstart.dt, zone)
        if event.get("DTEND") is not None:
            finish = _as_utc(event["DTEND"].dt, zone)
        elif event.get("DURATION") is not None:
            finish = begin + event["DURATION"].dt
        else:  # RFC 5545: a date lasts the day, a date-time is an instant
            finish = begin + (timedelta(days=1) if not isinstance(dtstart.dt, datetime) else timedelta(0))
        if finish > begin:
            busy.append((begin, finish))
        if len(busy) > MAX_EVENTS:
            raise CalendarError(_("the calendar has too many events"))
    return sorted(busy)


def fetch_ics(url: str) -> bytes:
    """GET the feed with a timeout, refusing anything over the size limit. The address and
    every redirect hop must be http(s) on a public address: a rep's feed URL must not reach
    the server's own network (cloud metadata, internal services)."""
    url = feed_address(url)
    _check_feed_address(url)
    request = urllib.request.Request(url, headers={"User-Agent": "ProspectCRM-calendar/1"})
    opener = urllib.request.build_opener(_CheckedRedirects())
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
            data = response.read(MAX_ICS_BYTES + 1)
    except CalendarError:
        raise
    except Exception as exc:  # noqa: BLE001  (bad URLs, truncated bodies, odd servers: all one answer)
        raise CalendarError(_("could not fetch the feed: %(type)s", type=type(exc).__name__)) from exc
    if len(data) > MAX_ICS_BYTES:
        raise CalendarError(_("the feed is larger than %(MAX_ICS_BYTES)s MB",
                              MAX_ICS_BYTES=MAX_ICS_BYTES // 1024 // 1024))
    return data


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _check_feed_address(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _check_feed_address(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise CalendarError(_("only http(s) feed addresses are supported"))
    if current_app.config.get("CALENDAR_FEED_ALLOW_PRIVATE", False):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        raise CalendarError(_("the feed's host does not resolve")) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise CalendarError(_("the feed address is not on the public internet"))


# --- services ---------------------------------------------------------------------------------

def store_busy(calendar: ExternalCalendar, data: bytes, zone_name: str, now: datetime) -> int:
    """Replace the calendar's cached busy rows from ``data``. :raises CalendarError:"""
    intervals = busy_from_ics(data, zone_name=zone_name, start=now - EXPAND_PAST, end=now + EXPAND_AHEAD)
    db.session.execute(delete(ExternalBusy).where(ExternalBusy.calendar_id == calendar.id))
    db.session.add_all(
        ExternalBusy(calendar_id=calendar.id, user_id=calendar.user_id, start_at=s, end_at=e)
        for s, e in intervals
    )
    calendar.last_fetched_at, calendar.last_error, calendar.event_count = now, None, len(intervals)
    db.session.flush()
    return len(intervals)


def feed_address(url: str) -> str:
    """A feed address as we fetch it: ``webcal://`` and ``webcals://`` (what iCloud and Outlook
    publish: a hint to open the address in a calendar app, not a protocol) are https."""
    url = (url or "").strip()
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("webcal", "webcals"):
        return f"https://{rest}"
    return url


def add_feed(user, name: str, url: str, now: datetime, *, fetch: bool = True) -> ExternalCalendar:
    url = feed_address(url)
    try:
        check_web_url(url, max_length=2000)
    except ValueError as problem:
        raise ValidationFailed(
            _("invalid calendar"),
            {"url": _("an http(s) address of an .ics feed: %(problem)s", problem=problem)}) from None
    calendar = ExternalCalendar(user_id=user.id, name=(name or "Calendar feed").strip()[:120],
                                kind="url", url=url, created_at=now)
    db.session.add(calendar)
    db.session.flush()
    if fetch:
        refresh_calendar(calendar, user.time_zone or "UTC", now)
    return calendar


def add_upload(user, name: str, data: bytes, now: datetime) -> ExternalCalendar:
    calendar = ExternalCalendar(user_id=user.id, name=(name or "Uploaded calendar").strip()[:120],
                                kind="file", created_at=now)
    db.session.add(calendar)
    db.session.flush()
    try:
        store_busy(calendar, data, user.time_zone or "UTC", now)
    except CalendarError as exc:
        raise ValidationFailed(_("invalid calendar"), {"file": str(exc)}) from None
    return calendar


def refresh_calendar(calendar: ExternalCalendar, zone_name: str, now: datetime) -> bool:
    """Fetch and store a feed; a failure is recorded on the calendar (old busy rows stay, so
    a flaky feed never suddenly frees the rep's time)."""
    try:
        store_busy(calendar, fetch_ics(calendar.url or ""), zone_name, now)
        return True
    except Exception as exc:  # noqa: BLE001  (one bad feed must never stop the others' refresh)
        if not isinstance(exc, CalendarError):
            log.exception("calendar %s: unexpected failure", calendar.id)
            exc = CalendarError(_("could not read the feed: %(type)s", type=type(exc).__name__))
        calendar.last_fetched_at, calendar.last_error = now, str(exc)[:500]
        db.session.flush()
        log.warning("calendar %s: %s", calendar.id, exc)
        return False


def user_calendars(user_id: int) -> list[ExternalCalendar]:
    return list(db.session.scalars(
        select(ExternalCalendar).where(ExternalCalendar.user_id == user_id).order_by(ExternalCalendar.id)))


def get_own_calendar(user, calendar_id) -> ExternalCalendar:
    calendar = get_by_id(ExternalCalendar, calendar_id)
    if calendar is None or calendar.user_id != user.id:
        raise NotFound(_("no such calendar"))
    return calendar


def delete_calendar(user, calendar_id) -> None:
    db.session.delete(get_own_calendar(user, calendar_id))
    db.session.flush()


def external_busy(user_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return [tuple(row) for row in db.session.execute(
        select(ExternalBusy.start_at, ExternalBusy.end_at)
        .where(ExternalBusy.user_id == user_id, ExternalBusy.start_at < end, ExternalBusy.end_at > start))]
