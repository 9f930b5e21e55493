"""External calendars: recurring events with exceptions expanded, free events ignored, the
uploaded file (size and type checked) and the feed refreshed by the worker from a real local
HTTP server; their busy time removes slots."""
from __future__ import annotations

import http.server
import threading
from datetime import datetime, time, timedelta, timezone

import pytest

from crm.extensions import db
from crm.meetings import calendars
from crm.meetings.jobs import refresh_due_feeds
from crm.meetings.models import ExternalBusy, ExternalCalendar
from crm.timeutil import utcnow
from tests.conftest import NOW, csrf_from
from tests.crm.meetings.helpers import BERLIN, berlin_at, future_weekday

UTC = timezone.utc


def ics(monday, *, extra: str = "") -> bytes:
    """A weekly Monday 10:00-11:00 Berlin meeting with the second occurrence excluded, a free
    (transparent) event, a one-off busy event on the Tuesday in UTC and a moved occurrence."""
    d = monday.strftime("%Y%m%d")
    second = (monday + timedelta(days=7)).strftime("%Y%m%d")
    third = (monday + timedelta(days=14)).strftime("%Y%m%d")
    tuesday = (monday + timedelta(days=1)).strftime("%Y%m%d")
    return f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//EN
BEGIN:VEVENT
UID:weekly@test
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:{d}T100000
DTEND;TZID=Europe/Berlin:{d}T110000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Berlin:{second}T100000
SUMMARY:Weekly sync
END:VEVENT
BEGIN:VEVENT
UID:weekly@test
RECURRENCE-ID;TZID=Europe/Berlin:{third}T100000
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:{third}T150000
DTEND;TZID=Europe/Berlin:{third}T160000
SUMMARY:Weekly sync (moved)
END:VEVENT
BEGIN:VEVENT
UID:free@test
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:{d}T130000
DTEND;TZID=Europe/Berlin:{d}T140000
TRANSP:TRANSPARENT
SUMMARY:Focus time (free)
END:VEVENT
BEGIN:VEVENT
UID:tuesday@test
DTSTAMP:20260101T000000Z
DTSTART:{tuesday}T080000Z
DTEND:{tuesday}T083000Z
SUMMARY:Dentist
END:VEVENT
{extra}END:VCALENDAR
""".replace("\n", "\r\n").encode()


def berlin_hhmm(day, utc_hour: int, minutes: int = 0) -> str:
    """The Berlin wall time of ``utc_hour:minutes`` UTC on ``day``: 09:00 in winter, 10:00 in
    summer (the Tuesday event is written in UTC)."""
    return datetime.combine(day, time(utc_hour, minutes), UTC).astimezone(BERLIN).strftime("%H:%M")


# Berlin is UTC+1 in winter and UTC+2 in summer: the same checks at a winter and a summer "now".
SEASONS = pytest.mark.parametrize("days_after_now", [0, 120], ids=["winter", "summer"])


@SEASONS
def test_recurrences_exceptions_and_free_events(clock, days_after_now):
    clock.freeze(NOW + timedelta(days=days_after_now))
    monday = future_weekday(0, min_days=2)
    busy = calendars.busy_from_ics(ics(monday), zone_name="Europe/Berlin",
                                   start=berlin_at(monday, 0), end=berlin_at(monday + timedelta(days=28), 0))
    starts = [(s.astimezone(berlin_at(monday, 0).tzinfo).strftime("%m-%d %H:%M"), (e - s)) for s, e in busy]
    hour = timedelta(hours=1)
    assert starts == [
        (monday.strftime("%m-%d") + " 10:00", hour),                              # first occurrence
        ((monday + timedelta(days=1)).strftime("%m-%d") + " " + berlin_hhmm(monday + timedelta(days=1), 8),
         timedelta(minutes=30)),                                                  # 08:00Z
        ((monday + timedelta(days=14)).strftime("%m-%d") + " 15:00", hour),      # moved occurrence
        ((monday + timedelta(days=21)).strftime("%m-%d") + " 10:00", hour),      # fourth; the second is excluded
    ]


def test_junk_and_oversized_files_are_refused():
    with pytest.raises(calendars.CalendarError):
        calendars.busy_from_ics(b"hello", zone_name="UTC", start=utcnow(), end=utcnow() + timedelta(days=1))
    with pytest.raises(calendars.CalendarError):
        calendars.busy_from_ics(b"x" * (calendars.MAX_ICS_BYTES + 1), zone_name="UTC", start=utcnow(),
                                end=utcnow() + timedelta(days=1))


@SEASONS
def test_uploaded_calendar_removes_slots(client, rita, make_type, login, clock, days_after_now):
    clock.freeze(NOW + timedelta(days=days_after_now))
    meeting_type = make_type(rita)
    monday = future_weekday(0)
    login(client, rita)
    page = client.get("/meetings/calendars")
    token = csrf_from(page.get_data(as_text=True))
    from io import BytesIO

    refused = client.post("/meetings/calendars/upload", data={
        "upload-csrf_token": token, "upload-name": "Bad",
        "upload-file": (BytesIO(b"not a calendar"), "notes.txt")}, content_type="multipart/form-data")
    assert refused.status_code == 422 and ".ics" in refused.get_data(as_text=True)
    junk = client.post("/meetings/calendars/upload", data={
        "upload-csrf_token": token, "upload-name": "Junk",
        "upload-file": (BytesIO(b"BEGIN:NOTHING"), "junk.ics")}, content_type="multipart/form-data")
    assert junk.status_code == 422
    response = client.post("/meetings/calendars/upload", data={
        "upload-csrf_token": token, "upload-name": "Work",
        "upload-file": (BytesIO(ics(monday)), "work.ics")}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.query(ExternalCalendar).one().kind == "file"
    slots = client.get(
        f"/api/v1/booking/{meeting_type.slug}/slots?start={monday}&days=2&tz=Europe/Berlin").get_json()["slots"]
    monday_hours = [s[11:16] for s in slots if s.startswith(str(monday))]
    tuesday_hours = [s[11:16] for s in slots if s.startswith(str(monday + timedelta(days=1)))]
    assert "10:00" not in monday_hours and "10:30" not in monday_hours and "09:30" in monday_hours
    assert "13:00" in monday_hours  # the free event does not block
    tuesday = monday + timedelta(days=1)  # the 08:00-08:30Z event blocks that half hour, Berlin time
    assert berlin_hhmm(tuesday, 8) not in tuesday_hours and berlin_hhmm(tuesday, 8, 30) in tuesday_hours


class _Feed(http.server.BaseHTTPRequestHandler):
    body = b""
    hits = 0

    def do_GET(self):  # noqa: N802
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def feed_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_feed_is_refreshed_by_the_worker_job(rita, feed_server):
    monday = future_weekday(0)
    _Feed.body, _Feed.hits = ics(monday), 0
    url = f"http://127.0.0.1:{feed_server.server_port}/secret/basic.ics"
    now = utcnow()
    calendar = calendars.add_feed(rita, "Google", url, now, fetch=False)
    db.session.commit()
    assert "1/1" in refresh_due_feeds(now)
    assert _Feed.hits == 1
    db.session.expire_all()
    assert db.session.get(ExternalCalendar, calendar.id).event_count == 4
    assert refresh_due_feeds(now + timedelta(minutes=1)) is None  # not due yet
    # The feed changes: a refresh replaces the rows; a broken feed keeps the old ones.
    _Feed.body = ics(monday).replace(b"RRULE:FREQ=WEEKLY;COUNT=4", b"RRULE:FREQ=WEEKLY;COUNT=1")
    refresh_due_feeds(now + timedelta(minutes=16))
    assert db.session.query(ExternalBusy).count() == 3
    _Feed.body = b"<html>oops</html>"
    refresh_due_feeds(now + timedelta(minutes=40))
    db.session.expire_all()
    stored = db.session.get(ExternalCalendar, calendar.id)
    assert stored.last_error and db.session.query(ExternalBusy).count() == 3


def test_feed_size_limit(rita, feed_server, monkeypatch):
    monkeypatch.setattr(calendars, "MAX_ICS_BYTES", 100)
    _Feed.body = b"BEGIN:VCALENDAR\r\n" + b"X" * 500
    with pytest.raises(calendars.CalendarError, match="larger"):
        calendars.fetch_ics(f"http://127.0.0.1:{feed_server.server_port}/big.ics")
    with pytest.raises(calendars.CalendarError):
        calendars.fetch_ics("file:///etc/passwd")
