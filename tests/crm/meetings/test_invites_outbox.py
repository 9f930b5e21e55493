"""Invites go through the mail outbox (issue 24): booking, moving and cancelling queue them in
their own transaction, the request never talks SMTP, the send tick delivers and retries them;
and a meeting has one UID in its invites and in the rep's calendar feed."""
from __future__ import annotations

from datetime import timedelta

import icalendar
from sqlalchemy import select

from crm.extensions import db
from crm.mail import transport
from crm.mail.models import OutboundEmail
from crm.mail.outbound.sender import send_due
from crm.meetings.calendars import add_feed, feed_address
from crm.meetings.models import Meeting
from crm.timeutil import utcnow
from tests.conftest import csrf_from
from tests.crm.meetings.helpers import berlin_at, calendar_part, delivered, future_weekday, the_event
from tests.crm.meetings.test_booking import book


def _invites():
    return db.session.scalars(select(OutboundEmail).where(OutboundEmail.kind == "invite")
                              .order_by(OutboundEmail.id).execution_options(populate_existing=True)).all()


def test_smtp_down_during_booking_the_booking_stands_and_the_tick_delivers_later(
        app, client, rita, make_type, smtp_sink, monkeypatch):
    meeting_type = make_type(rita)
    real_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = 1  # nothing listens there: the mail server is down
    connections = []
    real_open = transport.open_smtp
    monkeypatch.setattr(transport, "open_smtp", lambda settings: connections.append(settings) or real_open(settings))

    response = book(client, meeting_type.slug, berlin_at(future_weekday(1), 10))

    assert response.status_code == 201, response.get_json()
    assert connections == []  # the request never talked SMTP
    queued = _invites()
    assert [(e.to_address, e.status, e.calendar_method) for e in queued] == [
        ("grace@acmepumps.com", "queued", "REQUEST"), ("rita@acme-sales.com", "queued", "REQUEST")]
    assert queued[0].contact_id == db.session.get(Meeting, response.get_json()["meeting_id"]).contact_id

    now = utcnow()
    assert send_due(now).retried == 2  # still down: both wait, with a reason
    # The first was tried (one attempt); the rest of the batch is given back untried.
    assert [(e.status, e.attempts) for e in _invites()] == [("queued", 1), ("queued", 0)]
    assert [e.last_error.split(":")[0] for e in _invites()] == ["connection", "SMTP unavailable; retrying later"]
    assert smtp_sink.messages == []

    app.config["SMTP_PORT"] = real_port  # back up
    result = send_due(now + timedelta(seconds=app.config["MAIL_RETRY_BASE_SECONDS"]))
    assert result.sent == 2
    received = smtp_sink.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in received) == ["grace@acmepumps.com", "rita@acme-sales.com"]
    assert {str(the_event(calendar_part(r.message)[1])["UID"]) for r in received} == {response.get_json()["uid"]}
    assert not send_due(now + timedelta(hours=1))
    assert len(smtp_sink.messages) == 2  # exactly once each


def test_invites_skip_the_mailbox_limits_and_go_before_prospecting_mail(
        app, client, rita, make_type, make_contact, smtp_sink):
    from crm.mail.models import mailbox_for
    from crm.mail.outbound.outbox import enqueue_email

    mailbox = mailbox_for(rita)
    mailbox.min_gap_seconds, mailbox.daily_cap = 600, 500
    for _ in range(3):
        contact = make_contact()
        enqueue_email(sender=rita, contact=contact, to_address=contact.email, subject="Hello", text_body="Hi",
                      html_body=None, due_at=utcnow() - timedelta(hours=1), now=utcnow() - timedelta(hours=1))
    db.session.commit()
    meeting_type = make_type(rita)
    assert book(client, meeting_type.slug, berlin_at(future_weekday(2), 11)).status_code == 201

    assert send_due(utcnow()).sent == 3  # both invites, and one prospecting email (the gap allows one)
    kinds = [r.message.get_content_type() for r in smtp_sink.wait_for(3)]
    assert kinds == ["multipart/mixed", "multipart/mixed", "text/plain"]


def test_a_refused_booking_queues_nothing_and_a_second_cancel_sends_nothing(client, rita, make_type, api_token):
    meeting_type = make_type(rita)
    start = berlin_at(future_weekday(3), 14)
    booked = book(client, meeting_type.slug, start).get_json()
    assert book(client, meeting_type.slug, start, email="late@other-corp.com").status_code == 409
    assert len(_invites()) == 2
    headers = api_token(rita)
    for _ in range(2):
        assert client.post(f"/api/v1/meetings/{booked['meeting_id']}/cancel", json={},
                           headers=headers).status_code == 200
    assert [e.calendar_method for e in _invites()] == ["REQUEST", "REQUEST", "CANCEL", "CANCEL"]


def _feed_events(client, user):
    from crm.calls.settings import settings_for

    token = settings_for(user).feed_token
    db.session.commit()
    response = client.get(f"/calls/feed/{token}.ics")
    assert response.status_code == 200
    return [e for e in icalendar.Calendar.from_ical(response.data).walk("VEVENT") if "SEQUENCE" in e
            and not str(e["UID"]).startswith("call-block-")]


def test_one_uid_per_meeting_in_invites_and_the_feed_through_a_move_and_a_cancel(
        client, rita, make_type, smtp_sink):
    meeting_type = make_type(rita)
    day = future_weekday(3)
    booked = book(client, meeting_type.slug, berlin_at(day, 9)).get_json()
    request = [the_event(calendar_part(r.message)[1]) for r in delivered(smtp_sink, 2)]
    [in_feed] = _feed_events(client, rita)
    assert {str(e["UID"]) for e in request} == {str(in_feed["UID"])} == {booked["uid"]}
    assert int(in_feed["SEQUENCE"]) == 0

    token = booked["manage_url"].rsplit("/", 1)[-1]
    page = client.get(f"/meet/m/{token}/reschedule?tz=Europe/Berlin&start={day}").get_data(as_text=True)
    moved = client.post(f"/meet/m/{token}/reschedule?tz=Europe/Berlin",
                        data={"csrf_token": csrf_from(page), "start": berlin_at(day, 10).isoformat()})
    assert moved.status_code == 302
    smtp_sink.clear()
    update = [the_event(calendar_part(r.message)[1]) for r in delivered(smtp_sink, 2)]
    [in_feed] = _feed_events(client, rita)
    assert {(str(e["UID"]), int(e["SEQUENCE"])) for e in update} == {(booked["uid"], 1)}
    assert (str(in_feed["UID"]), int(in_feed["SEQUENCE"])) == (booked["uid"], 1)
    assert in_feed["DTSTART"].dt == berlin_at(day, 10)

    manage = client.get(f"/meet/m/{token}").get_data(as_text=True)
    assert client.post(f"/meet/m/{token}/cancel", data={"csrf_token": csrf_from(manage)}).status_code == 302
    smtp_sink.clear()
    cancel = [calendar_part(r.message) for r in delivered(smtp_sink, 2)]
    assert {(part.get_param("method"), str(the_event(cal)["UID"]), int(the_event(cal)["SEQUENCE"]))
            for part, cal in cancel} == {("CANCEL", booked["uid"], 2)}
    assert _feed_events(client, rita) == []  # gone from the feed too


def test_webcal_feed_addresses_are_taken_as_https(app, client, login, rita, monkeypatch):
    assert feed_address("webcal://p42-caldav.icloud.com/published/2/abc") == "https://p42-caldav.icloud.com/published/2/abc"
    assert feed_address(" WEBCALS://outlook.office365.com/owa/calendar/x/reachcalendar.ics") == (
        "https://outlook.office365.com/owa/calendar/x/reachcalendar.ics")
    assert feed_address("https://example.com/a.ics") == "https://example.com/a.ics"
    calendar = add_feed(rita, "iCloud", "webcal://p42-caldav.icloud.com/published/2/abc", utcnow(), fetch=False)
    assert calendar.url == "https://p42-caldav.icloud.com/published/2/abc"
    db.session.rollback()

    fetched = []
    monkeypatch.setattr("crm.meetings.calendars.fetch_ics", lambda url: fetched.append(url) or b"BEGIN:VCALENDAR\r\n"
                        b"VERSION:2.0\r\nPRODID:-//t//t//EN\r\nEND:VCALENDAR\r\n")
    login(client, rita)
    page = client.get("/meetings/calendars")
    assert page.status_code == 200
    response = client.post("/meetings/calendars", data={
        "feed-csrf_token": csrf_from(page.get_data(as_text=True)), "feed-name": "Outlook",
        "feed-url": "webcal://outlook.office365.com/owa/calendar/x/reachcalendar.ics"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert fetched == ["https://outlook.office365.com/owa/calendar/x/reachcalendar.ics"]
