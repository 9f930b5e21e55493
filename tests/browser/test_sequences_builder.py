"""In real headless Chromium: a rep builds a three-step sequence (two emails and a call) with
the builder, reorders nothing by accident, and enrolls a contact from the contact page; the
worker's tick then queues the first email inside the contact's window."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.sequences.models import Enrollment, SequenceStep
from crm.sequences.services import run_due_steps
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def rep_and_contact(make_user, make_company, make_contact):
    rep = make_user("rep", name="Rita Rep", email="rita@acme-sales.com", time_zone="Europe/Berlin")
    company = make_company(name="Nippon Pumps", domain="nippon-pumps.jp", time_zone="Asia/Tokyo")
    contact = make_contact(first_name="Yuki", last_name="Tanaka", email="yuki@nippon-pumps.jp",
                           company_id=company.id, owner_id=rep.id, actor=rep)
    return rep, contact


def _add_step(page, kind, delay, subject=None, body=None, note=None):
    form = page.locator("#step-form")
    form.locator("select[name=kind]").select_option(kind)
    form.locator("input[name=delay_days]").fill(str(delay))
    if subject is not None:
        form.locator("input[name=subject]").fill(subject)
        form.locator("textarea[name=text_body]").fill(body)
    else:  # call and social steps: the email fields are hidden by sequences.js
        assert not form.locator("input[name=subject]").is_visible()
    if note is not None:
        form.locator("textarea[name=task_note]").fill(note)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=Step added.")


def test_rep_builds_a_three_step_sequence_and_enrolls_a_contact(page, rep_and_contact):
    rep, contact = rep_and_contact
    page.goto("/login")
    page.fill("input[name=email]", rep.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts")

    page.click("nav.mainnav >> text=Sequences")
    page.wait_for_url("**/sequences")
    page.click("text=Build the first one")
    page.fill("input[name=name]", "Tokyo plants")
    page.click("button:has-text('Create sequence')")
    page.wait_for_selector("text=Sequence created. Add its steps.")

    _add_step(page, "auto_email", 0, "Pumps for {{ company.name }}", "Hi {{ contact.first_name }},\nshall we talk?")
    _add_step(page, "auto_email", 2, "ignored", "Following up, {{ contact.first_name }}.")
    _add_step(page, "call", 1, note="Ask about the tender")
    rows = page.locator("#steps-table tbody tr")
    assert rows.count() == 3
    texts = rows.all_inner_texts()
    assert "Automatic email" in texts[0] and "right away" in texts[0]
    assert "threads as “Re:”" in texts[1] and "after 2 business days" in texts[1]
    assert "Call task" in texts[2] and "Ask about the tender" in texts[2]
    page.screenshot(path="/tmp/sequence_builder.png", full_page=True)

    # A token that does not exist is refused with its line, nothing added.
    form = page.locator("#step-form")
    form.locator("select[name=kind]").select_option("auto_email")
    form.locator("input[name=subject]").fill("Hi")
    form.locator("textarea[name=text_body]").fill("Hello\n{{ contact.shoe_size }}")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=line 2: unknown token 'contact.shoe_size'")
    assert page.locator("#steps-table tbody tr").count() == 3
    assert page.console_errors == ["Failed to load resource: the server responded with a status of 422 "
                                   "(UNPROCESSABLE ENTITY)"]  # the refused form's status, nothing else
    page.console_errors.clear()

    page.goto(f"/contacts/{contact.id}")
    panel = page.locator("#sequence-panel")
    panel.locator("select[name=sequence_id]").select_option(label="Tokyo plants")
    panel.locator("button:has-text('Enroll')").click()
    page.wait_for_selector("text=Enrolled.")
    assert "Tokyo plants" in panel.inner_text() and "Active" in panel.inner_text()
    page.screenshot(path="/tmp/sequence_contact_panel.png", full_page=True)
    assert page.console_errors == []

    db.session.expire_all()
    enrollment = db.session.scalar(select(Enrollment))
    assert [s.kind for s in db.session.scalars(select(SequenceStep).order_by(SequenceStep.position))] == \
        ["auto_email", "auto_email", "call"]
    run_due_steps(enrollment.next_due_at)
    db.session.commit()
    email = db.session.scalar(select(OutboundEmail))
    assert (email.subject, email.text_body) == ("Pumps for Nippon Pumps", "Hi Yuki,\nshall we talk?")
