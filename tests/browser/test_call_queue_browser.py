"""In real headless Chromium: a rep works three queue entries with the keyboard only
(outcome key, n for notes, Enter to log and go to the next), and the page runs under the
strict CSP without console errors."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from crm.calls.blocks import create_block
from crm.calls.queue import build_queue
from crm.contacts.models import Activity
from crm.extensions import db
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NINE_NY = datetime(2026, 3, 10, 13, 0, tzinfo=timezone.utc)  # Tuesday 09:00 in New York


@pytest.fixture
def rep_with_queue(make_user, make_contact, clock):
    clock.freeze(NINE_NY + timedelta(minutes=5))
    rep = make_user("rep", name="Ray Rep", email="ray@acme-sales.com", time_zone="America/New_York")
    create_block(rep, {"kind": "recurring", "weekdays": [0, 1, 2, 3, 4], "start_time": time(9),
                       "end_time": time(10, 30)}, NINE_NY)
    for first, last in (("Grace", "Hopper"), ("Alan", "Turing"), ("Ada", "Lovelace")):
        make_contact(first_name=first, last_name=last, owner_id=rep.id, phone="+1 212 555 0199",
                     time_zone="America/Toronto", actor=rep)
    build_queue(rep, NINE_NY)
    db.session.commit()
    return rep


def test_rep_works_three_entries_with_the_keyboard(page, rep_with_queue):
    page.goto("/login")
    page.fill("input[name=email]", "ray@acme-sales.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/calls")
    assert page.locator("#call-queue tbody tr").count() == 3
    page.screenshot(path="/tmp/call_my_day.png", full_page=True)
    page.keyboard.press("Escape")
    page.click("#start-calling")
    names = []
    for key, note in (("c", "Wants a quote"), ("v", ""), ("a", "")):
        page.wait_for_selector("#log-form")
        names.append(page.locator("#contact-name").inner_text())
        if not names[:-1]:
            page.screenshot(path="/tmp/call_work_page.png", full_page=True)
            # Enter before choosing an outcome: no round trip, a hint, and no "0" left in Duration.
            page.locator("body").press("Enter")
            assert page.locator("#outcome-needed").is_visible()
            assert page.locator("input[name=duration_seconds]").input_value() == ""
        page.locator("body").press(key)
        if note:
            page.keyboard.press("n")
            page.keyboard.type(note)
            page.keyboard.press("Escape")
        with page.expect_navigation():  # POST, then redirects to the next contact
            page.keyboard.press("Enter")
        assert "Logged:" in page.locator(".flash-success").inner_text()
    page.wait_for_selector("#queue-done")
    assert sorted(names) == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    calls = db.session.query(Activity).filter_by(kind="call").order_by(Activity.id).all()
    assert [c.details["outcome"] for c in calls] == ["connected", "voicemail", "no_answer"]
    assert calls[0].details["notes"] == "Wants a quote"
    assert all(c.details["duration_seconds"] is not None for c in calls)
    page.screenshot(path="/tmp/call_queue_done.png", full_page=True)
    assert page.console_errors == []
