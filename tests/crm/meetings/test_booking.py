"""Booking through the public API: side effects (contact and company, activity, sequences
stopped, alert, score), iCalendar invites received by a real SMTP server and parsed back field
by field, 409 and 422, cancel and reschedule, round-robin, prospecting blocks."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from crm.alerts.models import Alert
from crm.contacts.models import Activity, Company, Contact
from crm.extensions import db
from crm.meetings import services
from crm.meetings.models import Meeting
from tests.conftest import NOW
from tests.crm.meetings.helpers import berlin_at, calendar_part, delivered, future_weekday, text_part, the_event

UTC = timezone.utc


def book(client, slug, start, email="grace@acmepumps.com", name="Grace Hopper", tz="America/New_York", **extra):
    body = {"start": start.isoformat(), "name": name, "email": email, "tz": tz, **extra}
    return client.post(f"/api/v1/booking/{slug}", json=body)


def test_slots_api_returns_visitor_offsets(client, rita, make_type):
    meeting_type = make_type(rita)
    monday = future_weekday(0)
    response = client.get(f"/api/v1/booking/{meeting_type.slug}/slots?start={monday}&days=1&tz=America/New_York")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["time_zone"] == "America/New_York" and body["duration_minutes"] == 30
    first = datetime.fromisoformat(body["slots"][0])
    assert first == berlin_at(monday, 9)  # 09:00 Berlin is the first slot
    assert body["slots"][0].endswith(("-05:00", "-04:00"))
    assert len(body["slots"]) == 16  # 09:00 .. 16:30 Berlin
    assert client.get(f"/api/v1/booking/{meeting_type.slug}/slots?tz=Mars/Olympus").status_code == 422
    assert client.get("/api/v1/booking/no-such-link/slots").status_code == 404


def test_booking_creates_everything_and_mails_both_invites(client, rita, make_type, smtp_sink):
    meeting_type = make_type(rita, location_kind="video", location_value="https://meet.example.com/rita",
                             questions=[{"label": "What do you pump?", "required": True}])
    start = berlin_at(future_weekday(1), 10)
    response = book(client, meeting_type.slug, start, answers={"q1": "Slurry"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert datetime.fromisoformat(body["start"]) == start and body["start"].endswith(("-05:00", "-04:00"))
    assert datetime.fromisoformat(body["end"]) - datetime.fromisoformat(body["start"]) == timedelta(minutes=30)
    assert body["manage_url"].startswith("http://crm.example.com/meet/m/")

    meeting = db.session.get(Meeting, body["meeting_id"])
    assert meeting.uid == body["uid"] and meeting.status == "confirmed" and meeting.sequence == 0
    assert meeting.host_id == rita.id and meeting.answers == {"q1": "Slurry"}
    contact = db.session.get(Contact, meeting.contact_id)
    assert (contact.email, contact.first_name, contact.last_name) == ("grace@acmepumps.com", "Grace", "Hopper")
    assert contact.owner_id == rita.id and contact.time_zone == "America/New_York"
    assert db.session.get(Company, contact.company_id).domain == "acmepumps.com"
    kinds = db.session.scalars(select(Activity.kind).where(Activity.contact_id == contact.id)).all()
    assert "meeting_booked" in kinds
    alert = db.session.scalars(select(Alert).where(Alert.user_id == rita.id)).one()
    assert alert.kind == "meeting_booked" and "Grace Hopper" in alert.message

    received = delivered(smtp_sink, 2)
    assert sorted(r.rcpt_tos[0] for r in received) == ["grace@acmepumps.com", "rita@acme-sales.com"]
    for r in received:
        part, calendar = calendar_part(r.message)
        assert part.get_param("method") == "REQUEST"
        assert str(calendar["METHOD"]) == "REQUEST"
        event = the_event(calendar)
        assert str(event["UID"]) == meeting.uid
        assert event["DTSTART"].dt == start.astimezone(UTC) and event["DTSTART"].dt.tzinfo is not None
        assert event["DTSTART"].to_ical().endswith(b"Z") and event["DTEND"].to_ical().endswith(b"Z")
        assert event["DTEND"].dt == start.astimezone(UTC) + timedelta(minutes=30)
        assert int(event["SEQUENCE"]) == 0
        assert event["DTSTAMP"].dt.tzinfo is not None
        assert str(event["ORGANIZER"]) == "mailto:rita@acme-sales.com"
        attendees = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]]
        assert {str(a) for a in attendees} == {"mailto:grace@acmepumps.com", "mailto:rita@acme-sales.com"}
        assert str(event["LOCATION"]) == "https://meet.example.com/rita"
        text = text_part(r.message)
        assert body["manage_url"] + "/reschedule" in text and f"Cancel: {body['manage_url']}" in text
    guest_mail = next(r for r in received if r.rcpt_tos == ["grace@acmepumps.com"])
    assert "New_York" in text_part(guest_mail.message)  # times in the guest's zone
    host_mail = next(r for r in received if r.rcpt_tos == ["rita@acme-sales.com"])
    assert "Slurry" in text_part(host_mail.message)  # answers go to the host


def test_taken_slot_is_409_with_fresh_slots_and_bad_input_is_422(client, rita, make_type):
    meeting_type = make_type(rita)
    start = berlin_at(future_weekday(2), 11)
    assert book(client, meeting_type.slug, start).status_code == 201
    again = book(client, meeting_type.slug, start, email="alan@bletchley-park.com")
    assert again.status_code == 409
    body = again.get_json()
    assert body["error"]["code"] == "conflict" and "taken" in body["error"]["message"]
    fresh = [datetime.fromisoformat(s) for s in body["slots"]]
    assert fresh and start not in fresh and body["slots"][0].endswith(("-05:00", "-04:00"))

    for bad, field in (({"email": "not-an-email"}, "email"), ({"start": "2026-12-01T10:00:00"}, "start"),
                       ({"name": ""}, "name"), ({"tz": "Nowhere/Land"}, "tz")):
        payload = {"start": start.isoformat(), "name": "A B", "email": "a@b-corp.com", "tz": "UTC", **bad}
        response = client.post(f"/api/v1/booking/{meeting_type.slug}", json=payload)
        assert response.status_code == 422, (bad, response.get_json())
        assert field in " ".join(response.get_json()["error"]["fields"]), response.get_json()
    off_grid = book(client, meeting_type.slug, berlin_at(future_weekday(2), 11, 10))
    assert off_grid.status_code == 422  # never a slot of this link, not "taken"
    sunday = book(client, meeting_type.slug, berlin_at(future_weekday(6), 11))
    assert sunday.status_code == 422
    assert db.session.scalar(select(db.func.count(Meeting.id))) == 1


def test_cancel_by_guest_sends_method_cancel_and_frees_the_slot(client, rita, make_type, smtp_sink):
    meeting_type = make_type(rita)
    start = berlin_at(future_weekday(3), 14)
    booked = book(client, meeting_type.slug, start).get_json()
    delivered(smtp_sink, 2)
    smtp_sink.clear()
    token = booked["manage_url"].rsplit("/", 1)[-1]
    page = client.get(f"/meet/m/{token}")
    assert page.status_code == 200 and "Cancel the meeting" in page.get_data(as_text=True)
    from tests.conftest import csrf_from

    response = client.post(f"/meet/m/{token}/cancel", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                           "reason": "Conflict"})
    assert response.status_code == 302
    meeting = db.session.get(Meeting, booked["meeting_id"])
    assert meeting.status == "cancelled" and meeting.sequence == 1 and meeting.cancel_reason == "Conflict"
    received = delivered(smtp_sink, 2)
    assert len(received) == 2
    for r in received:
        part, calendar = calendar_part(r.message)
        assert part.get_param("method") == "CANCEL" and str(calendar["METHOD"]) == "CANCEL"
        event = the_event(calendar)
        assert str(event["UID"]) == booked["uid"] and int(event["SEQUENCE"]) == 1
        assert str(event["STATUS"]) == "CANCELLED"
    assert book(client, meeting_type.slug, start, email="someone@else-corp.com").status_code == 201
    assert client.get("/meet/m/forged-token").status_code == 404


def test_reschedule_keeps_the_uid_and_raises_the_sequence(client, rita, make_type, smtp_sink):
    meeting_type = make_type(rita)
    day = future_weekday(3)
    booked = book(client, meeting_type.slug, berlin_at(day, 9)).get_json()
    delivered(smtp_sink, 2)
    smtp_sink.clear()
    token = booked["manage_url"].rsplit("/", 1)[-1]
    page = client.get(f"/meet/m/{token}/reschedule?tz=Europe/Berlin&start={day}")
    html = page.get_data(as_text=True)
    new_start = berlin_at(day, 9, 30)  # next to its own old time, which counts as free
    assert new_start.isoformat() in html and berlin_at(day, 9).isoformat() in html
    from tests.conftest import csrf_from

    response = client.post(f"/meet/m/{token}/reschedule?tz=Europe/Berlin",
                           data={"csrf_token": csrf_from(html), "start": new_start.isoformat()})
    assert response.status_code == 302
    meeting = db.session.get(Meeting, booked["meeting_id"])
    assert meeting.start_at == new_start and meeting.sequence == 1 and meeting.uid == booked["uid"]
    received = delivered(smtp_sink, 2)
    for r in received:
        part, calendar = calendar_part(r.message)
        assert part.get_param("method") == "REQUEST"
        event = the_event(calendar)
        assert str(event["UID"]) == booked["uid"] and int(event["SEQUENCE"]) == 1
        assert event["DTSTART"].dt == new_start.astimezone(UTC)
    # The old time is free again; the new one is taken.
    assert book(client, meeting_type.slug, berlin_at(day, 9), email="x@y-corp.com").status_code == 201
    assert book(client, meeting_type.slug, new_start, email="z@y-corp.com").status_code == 409


def test_rep_cancels_through_the_api(client, rita, make_type, api_token, smtp_sink, bob):
    meeting_type = make_type(rita)
    booked = book(client, meeting_type.slug, berlin_at(future_weekday(4), 15)).get_json()
    delivered(smtp_sink, 2)
    smtp_sink.clear()
    headers = api_token(rita)
    listed = client.get("/api/v1/meetings?scope=upcoming", headers=headers).get_json()["items"]
    assert [m["id"] for m in listed] == [booked["meeting_id"]]
    refused = client.post(f"/api/v1/meetings/{booked['meeting_id']}/cancel", json={}, headers=api_token(bob))
    assert refused.status_code == 404
    response = client.post(f"/api/v1/meetings/{booked['meeting_id']}/cancel", json={"reason": "ill"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert all(calendar_part(r.message)[0].get_param("method") == "CANCEL" for r in delivered(smtp_sink, 2))


def test_booking_stops_the_contacts_sequences_and_credits_the_step(client, rita, make_type, make_contact):
    from crm.meetings.services import meeting_link_for
    from crm.sequences import library
    from crm.sequences.models import Enrollment
    from crm.sequences.services import enroll_contact

    make_type(rita)
    contact = make_contact(email="grace@acmepumps.com", first_name="Grace", last_name="Hopper", owner_id=rita.id,
                           actor=rita)
    sequence = library.create_sequence(rita, {"name": "Outbound"}, NOW)
    step = library.add_step(rita, sequence.id, {"kind": "call", "delay_days": 1, "task_note": "Call"}, NOW)
    enrollment = enroll_contact(rita, sequence.id, contact.id, NOW)
    db.session.commit()
    link = meeting_link_for(rita.id, enrollment_id=enrollment.id, step_id=step.id)
    assert link.startswith("http://crm.example.com/meet/intro-") and "src=" in link
    src = link.split("src=", 1)[1]
    response = book(client, link.split("/meet/", 1)[1].split("?")[0], berlin_at(future_weekday(0), 13), source=src)
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    stopped = db.session.get(Enrollment, enrollment.id)
    assert (stopped.status, stopped.stop_reason) == ("stopped", "meeting_booked")
    meeting = db.session.get(Meeting, response.get_json()["meeting_id"])
    assert (meeting.source_enrollment_id, meeting.source_step_id, meeting.contact_id) == (
        enrollment.id, step.id, contact.id)
    # A tampered source token credits nothing (and still books).
    response = book(client, meeting.meeting_type.slug, berlin_at(future_weekday(0), 14), email="a@b-corp.com",
                    source=src[:-2] + "xx")
    assert response.status_code == 201
    assert db.session.get(Meeting, response.get_json()["meeting_id"]).source_enrollment_id is None
    assert meeting_link_for(999999) is None


def test_prospecting_blocks_are_busy(client, rita, make_type):
    from crm.calls.blocks import create_block

    meeting_type = make_type(rita)
    monday = future_weekday(0)
    create_block(rita, {"kind": "recurring", "weekdays": [0], "start_time": time(10, 0), "end_time": time(12, 0),
                        "time_zone": "Europe/Berlin"}, NOW)
    db.session.commit()
    slots = client.get(
        f"/api/v1/booking/{meeting_type.slug}/slots?start={monday}&days=1&tz=Europe/Berlin").get_json()["slots"]
    hours = [s[11:16] for s in slots]
    assert "09:30" in hours and "12:00" in hours
    assert not {"10:00", "10:30", "11:00", "11:30"} & set(hours)
    assert book(client, meeting_type.slug, berlin_at(monday, 10, 30)).status_code == 409


def test_round_robin_goes_to_the_least_booked_then_least_recently_booked(client, make_user, make_type, rita):
    ray = make_user("rep", name="Ray Rep", email="ray@acme-sales.com", time_zone="Europe/Berlin")
    rosa = make_user("rep", name="Rosa Rep", email="rosa@acme-sales.com", time_zone="Europe/Berlin")
    team = make_type(rita, slug="team-demo", member_ids=[rita.id, ray.id, rosa.id])
    day = future_weekday(1)
    hosts = []
    for i in range(6):
        response = book(client, team.slug, berlin_at(day, 9 + i), email=f"guest{i}@corp{i}.com")
        assert response.status_code == 201, response.get_json()
        hosts.append(db.session.get(Meeting, response.get_json()["meeting_id"]).host_id)
    assert sorted(hosts.count(h) for h in (rita.id, ray.id, rosa.id)) == [2, 2, 2]
    assert len(set(hosts[:3])) == 3 and hosts[3:] == hosts[:3]  # ties: least recently booked first
    # A member busy at a time is skipped; the team slot stays offered while anyone is free.
    busy_day = future_weekday(2)
    for member in (rita, ray):
        services.book(team, berlin_at(busy_day, 10).astimezone(UTC),
                      services.Guest(f"G {member.id}", f"g{member.id}@x-corp.com", "UTC", {}), NOW)
        db.session.commit()
    third = book(client, team.slug, berlin_at(busy_day, 10), email="last@corp.com")
    assert third.status_code == 201
    assert db.session.get(Meeting, third.get_json()["meeting_id"]).host_id == rosa.id
    assert book(client, team.slug, berlin_at(busy_day, 10), email="late@corp.com").status_code == 409


def test_pg_exclusion_constraint_refuses_overlaps_even_without_the_lock(rita, make_type, make_contact):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL; SQLite relies on BEGIN IMMEDIATE")
    from sqlalchemy.exc import IntegrityError

    start = datetime(2030, 1, 7, 9, tzinfo=UTC)

    def meeting(uid, offset_minutes, status="confirmed"):
        return Meeting(host_id=rita.id, title="x", start_at=start + timedelta(minutes=offset_minutes),
                       end_at=start + timedelta(minutes=offset_minutes + 30), status=status, uid=uid,
                       guest_name="g", guest_email="g@x.com", answers={})

    db.session.add(meeting("a", 0))
    db.session.add(meeting("b", 15, status="cancelled"))  # cancelled rows never conflict
    db.session.add(meeting("c", 30))  # touching is fine: [9:00, 9:30) and [9:30, 10:00)
    db.session.commit()
    db.session.add(meeting("d", 10))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_meetings_between_lists_confirmed_overlapping_meetings(client, rita, make_type):
    from crm.meetings.services import meetings_between

    meeting_type = make_type(rita)
    day = future_weekday(2)
    kept = book(client, meeting_type.slug, berlin_at(day, 9)).get_json()
    cancelled = book(client, meeting_type.slug, berlin_at(day, 11), email="b@c-corp.com").get_json()
    db.session.get(Meeting, cancelled["meeting_id"]).status = "cancelled"
    db.session.commit()
    found = meetings_between(rita.id, berlin_at(day, 9, 15).astimezone(UTC), berlin_at(day, 12).astimezone(UTC))
    assert [(m.id, m.start, m.end) for m in found] == [
        (kept["meeting_id"], berlin_at(day, 9).astimezone(UTC), berlin_at(day, 9, 30).astimezone(UTC))]
    assert found[0].contact_id is not None and "Grace Hopper" in found[0].title
    assert meetings_between(rita.id, berlin_at(day, 9, 30).astimezone(UTC), berlin_at(day, 10).astimezone(UTC)) == []


def test_times_outside_notice_or_horizon_are_422_not_409(client, rita, make_type):
    notice = make_type(rita, slug="long-notice", min_notice_hours=24 * 20, horizon_days=60)
    assert book(client, notice.slug, berlin_at(future_weekday(2), 11)).status_code == 422
    short = make_type(rita, slug="short-horizon", horizon_days=1)
    assert book(client, short.slug, berlin_at(future_weekday(2), 11)).status_code == 422
