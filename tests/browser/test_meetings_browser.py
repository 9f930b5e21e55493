"""In real headless Chromium: a prospect in New York opens a rep's link from a sequence email,
sees the slots in their own zone (detected by the browser), books one, and the invites reach
the SMTP server; the sequence has stopped. A second prospect on a phone, racing for the same
slot, is told it was just taken and sees fresh slots. No CSP violations, no horizontal scroll."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crm.extensions import db
from crm.meetings.models import Meeting
from crm.meetings.services import meeting_link_for
from crm.sequences import library
from crm.sequences.models import Enrollment
from crm.sequences.services import enroll_contact
from crm.web.formatting import format_clock
from tests.conftest import NOW
from tests.crm.meetings.conftest import (
    make_type,  # noqa: F401  (fixture)
    rita,  # noqa: F401  (fixture)
)
from tests.crm.meetings.helpers import calendar_part, delivered, future_weekday

pytestmark = pytest.mark.browser


def context(chromium, live_server, *, phone=False):
    size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    ctx = chromium.new_context(base_url=live_server, viewport=size, locale="en-US", timezone_id="America/New_York",
                               is_mobile=phone, has_touch=phone)
    tab = ctx.new_page()
    tab.set_default_timeout(15_000)
    tab.console_errors = []
    tab.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
    tab.on("pageerror", lambda e: tab.console_errors.append(str(e)))
    return ctx, tab


def test_prospect_books_in_their_own_zone_and_a_racer_is_told_it_was_taken(
        chromium, live_server, rita, make_type, make_contact, smtp_sink):  # noqa: F811
    meeting_type = make_type(rita, name="Pump sizing call", questions=[{"label": "Which plant?", "required": False}])
    contact = make_contact(email="grace@acmepumps.com", first_name="Grace", last_name="Hopper", actor=rita,
                           owner_id=rita.id)
    sequence = library.create_sequence(rita, {"name": "Outbound"}, NOW)
    step = library.add_step(rita, sequence.id, {"kind": "call", "delay_days": 1, "task_note": "Call"}, NOW)
    enrollment = enroll_contact(rita, sequence.id, contact.id, NOW)
    db.session.commit()
    link = meeting_link_for(rita.id, enrollment_id=enrollment.id, step_id=step.id)
    path = link.removeprefix("http://crm.example.com")
    day = future_weekday(1)

    ctx, tab = context(chromium, live_server)
    racer_ctx, racer = context(chromium, live_server, phone=True)
    try:
        tab.goto(f"{path}&start={day}")
        tab.wait_for_url("**tz=America%2FNew_York*")  # meetings.js applied the browser's zone
        assert tab.locator("#tz-select").input_value() == "America/New_York"
        first_slot = tab.locator("#slots a.slot").first
        slot_start = datetime.fromisoformat(first_slot.get_attribute("data-start"))
        assert slot_start.utcoffset() == ZoneInfo("America/New_York").utcoffset(slot_start.replace(tzinfo=None))
        assert slot_start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "09:00"
        shown = format_clock(slot_start, "America/New_York", locale="en")
        assert first_slot.inner_text() == shown  # e.g. 3:00 AM in New York (en-US)
        tab.screenshot(path="/tmp/meetings_public.png", full_page=True)

        # The racer, on a phone, opens the same slot's form at the same time.
        racer.goto(f"/meet/{meeting_type.slug}?tz=America/New_York&start={day}")
        assert racer.evaluate("document.documentElement.scrollWidth") <= 390
        racer.screenshot(path="/tmp/meetings_public_phone.png", full_page=True)
        racer.locator("#slots a.slot").first.click()
        racer.wait_for_selector("#confirm-booking")

        first_slot.click()
        tab.wait_for_selector("#confirm-booking")
        assert shown in tab.locator("#chosen-time").inner_text()
        tab.fill("input[name=name]", "Grace Hopper")
        tab.fill("input[name=email]", "grace@acmepumps.com")
        tab.fill("textarea[name=answer_q1]", "Rotterdam")
        tab.click("#confirm-booking")
        tab.wait_for_selector("#booked")
        assert "grace@acmepumps.com" in tab.locator("#booked").inner_text()
        tab.screenshot(path="/tmp/meetings_booked.png", full_page=True)

        racer.fill("input[name=name]", "Alan Turing")
        racer.fill("input[name=email]", "alan@bletchley-park.com")
        racer.click("#confirm-booking")
        racer.wait_for_selector("#just-taken")
        fresh = [datetime.fromisoformat(a.get_attribute("data-start")) for a in racer.locator("#slots a.slot").all()]
        assert fresh and slot_start not in fresh
        assert racer.evaluate("document.documentElement.scrollWidth") <= 390
        # The "just taken" page is answered 409 on purpose; anything else (CSP...) is a failure.
        assert tab.console_errors == []
        assert [e for e in racer.console_errors if "status of 409" not in e] == []
    finally:
        ctx.close()
        racer_ctx.close()

    db.session.expire_all()
    meeting = db.session.query(Meeting).one()
    assert meeting.start_at == slot_start and meeting.contact_id == contact.id
    assert (meeting.source_enrollment_id, meeting.source_step_id) == (enrollment.id, step.id)
    stopped = db.session.get(Enrollment, enrollment.id)
    assert (stopped.status, stopped.stop_reason) == ("stopped", "meeting_booked")
    received = delivered(smtp_sink, 2)  # invites leave through the outbox's send tick
    host_invite = next(r for r in received if r.rcpt_tos == ["rita@acme-sales.com"])
    _part, calendar = calendar_part(host_invite.message)
    event = [c for c in calendar.walk() if c.name == "VEVENT"][0]
    assert str(event["UID"]) == meeting.uid and event["DTSTART"].dt == slot_start
