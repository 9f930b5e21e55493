"""In real headless Chromium: a rep signs in through the login form, searches contacts, opens
one, sees its timeline, and adds a note. Screenshots of the list and the contact page go to
/tmp for a human look."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.contacts.services import record_activity
from crm.extensions import db
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def rep_with_contacts(make_user, make_company, make_contact, clock):
    rep = make_user("rep", name="Rita Rep", email="rita@acme-sales.com", time_zone="Europe/Paris")
    acme = make_company(name="Acme Pumps", domain="acmepumps.com", industry="Manufacturing",
                        time_zone="America/Chicago")
    grace = make_contact(first_name="Grace", last_name="Hopper", email="grace@acmepumps.com", title="VP Engineering",
                         company_id=acme.id, owner_id=rep.id, lifecycle_stage="sql", actor=rep)
    make_contact(first_name="Alan", last_name="Turing", email="alan@bletchley-park.com", owner_id=rep.id,
                 lifecycle_stage="lead", actor=rep)
    make_contact(first_name="Ada", last_name="Lovelace", email="ada@analytical-engines.com",
                 lifecycle_stage="customer", title="Founder")
    record_activity("email_sent", NOW + timedelta(hours=1), contact_id=grace.id, company_id=acme.id,
                    user_id=rep.id, details={"subject": "Pump sizing for the new plant"})
    record_activity("call", NOW + timedelta(days=1), contact_id=grace.id, company_id=acme.id,
                    user_id=rep.id, details={"outcome": "Connected", "notes": "Wants a quote for 40 units"})
    record_activity("note", NOW + timedelta(days=2), contact_id=grace.id, company_id=acme.id, user_id=rep.id,
                    details={"body": "Budget approved for Q3"})
    db.session.commit()
    clock.freeze(NOW + timedelta(days=3))  # the rep opens the contact after that history
    return rep


def test_rep_signs_in_searches_and_reads_a_timeline(page, rep_with_contacts):
    page.goto("/login")
    page.fill("input[name=email]", "rita@acme-sales.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts")
    rows = page.locator("#contacts-table tbody tr")
    assert rows.count() == 3
    page.screenshot(path="/tmp/contacts_list.png", full_page=True)

    page.fill("input[name=q]", "acme")  # matches the company name
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/contacts?q=acme*")
    assert rows.count() == 1
    assert "Grace Hopper" in rows.first.inner_text()

    page.click("text=Grace Hopper")
    page.wait_for_url("**/contacts/*")
    assert "Grace Hopper" in page.locator("h1").inner_text()
    timeline = page.locator("#timeline .tl-item")
    texts = timeline.all_inner_texts()
    assert len(texts) == 4  # newest first: note, call, email, contact created
    assert "Budget approved for Q3" in texts[0] and "Rita Rep" in texts[0]
    assert "called Grace Hopper: connected" in texts[1] and "Wants a quote for 40 units" in texts[1]
    assert "Rita Rep sent Pump sizing for the new plant to Grace Hopper" in texts[2]
    assert "added Grace Hopper" in texts[3]
    assert "Mar 12, 2026, 3:30 PM" in texts[0]  # 14:30 UTC shown in Rita's Paris time

    page.fill("textarea[name=body]", "Sent the quote <40 units>")
    page.click("#timeline button[type=submit]")
    page.wait_for_selector("text=Note added.")
    assert "Sent the quote <40 units>" in page.locator("#timeline .tl-item").first.inner_text()
    page.screenshot(path="/tmp/contact_page.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto("/contacts")
    page.screenshot(path="/tmp/contacts_list_phone.png", full_page=True)
    assert page.console_errors == []  # no CSP violations, no script errors
