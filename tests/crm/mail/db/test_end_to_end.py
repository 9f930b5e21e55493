"""The issue's "done when", below the browser: a rep's three-step sequence, an enrolled
contact, the worker's jobs send step one into the real SMTP server, and what comes back
(a reply, an out-of-office, a bounce) stops or pauses the enrollment."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crm.contacts.models import Contact
from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.mail.outbound.sender import send_due
from crm.sequences import library
from crm.sequences.models import Enrollment
from crm.sequences.services import enroll_contact, resume_due_pauses, run_due_steps
from tests.conftest import NOW
from tests.crm.mail.db.test_inbound import post, raw

SEQ_ID = "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>"


def _three_step_sequence(rep):
    seq = library.create_sequence(rep, {"name": "Freight outreach"}, NOW)
    library.add_step(rep, seq.id, {"kind": "auto_email", "subject": "Quick question about your freight costs",
                                   "text_body": "Hi {{ contact.first_name }}, a quick question."}, NOW)
    library.add_step(rep, seq.id, {"kind": "auto_email", "delay_days": 2, "subject": "Following up",
                                   "text_body": "Following up, {{ contact.first_name }}."}, NOW)
    library.add_step(rep, seq.id, {"kind": "call", "delay_days": 1, "task_note": "Call about freight"}, NOW)
    db.session.commit()
    return seq


def _enrolled(alice, make_contact, make_company, email="bob.keller@globex-industries.com"):
    company = make_company(name="Globex", domain=email.rpartition("@")[2], time_zone="Europe/Berlin")
    contact = make_contact(email=email, first_name="Bob", owner_id=alice.id, company_id=company.id, actor=alice)
    enrollment = enroll_contact(alice, _three_step_sequence(alice).id, contact.id, NOW)
    db.session.commit()
    return contact, enrollment


def _run_worker(now):
    run_due_steps(now)
    db.session.commit()
    return send_due(now)


def test_step_one_goes_out_then_a_reply_stops_the_sequence(client, smtp_sink, alice, make_contact, make_company,
                                                           unlimited):
    contact, enrollment = _enrolled(alice, make_contact, make_company)
    # NOW is a Tuesday 15:30 in Berlin: inside the default send window.
    result = _run_worker(NOW)
    assert result.sent == 1
    [received] = smtp_sink.wait_for(1)
    assert received.message["Subject"] == "Quick question about your freight costs"
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    email = db.session.query(OutboundEmail).one()
    state = db.session.get(Enrollment, enrollment.id, populate_existing=True)
    assert state.status == "active" and email.step_id in (state.completed_step_ids or [])  # the hook advanced it

    reply = raw("reply_gmail.eml", **{SEQ_ID: email.message_id})
    body = post(client, reply).get_json()
    assert body["classification"] == "reply" and body["stopped"] == [enrollment.id]
    assert db.session.get(Enrollment, enrollment.id, populate_existing=True).stop_reason == "replied"
    _run_worker(NOW + timedelta(days=5))
    assert len(smtp_sink.wait_for(2, timeout=0.5)) == 1  # the follow-up never leaves


def test_out_of_office_pauses_until_the_stated_date_then_resumes(client, clock, smtp_sink, alice, make_contact,
                                                                  make_company, unlimited):
    contact, enrollment = _enrolled(alice, make_contact, make_company, "celine.dubois@chateau-margaux-logistique.fr")
    _run_worker(NOW)
    email = db.session.query(OutboundEmail).one()
    # Céline's Zimbra answers a minute later (NOW is 15:30 in Paris): away until Friday 13
    # March inclusive, back on Monday 16 March.
    ooo = raw("ooo_french_zimbra.eml", **{
        "<seq.8a2c5e1f9b04.1@mail.acme-sales.com>": email.message_id,
        "Date: Wed, 25 Nov 2026 09:18:41 +0100 (CET)": "Date: Tue, 10 Mar 2026 15:31:12 +0100 (CET)",
        "2 d=C3=A9cembre inclus": "13 mars inclus",
        "le jeudi 3 d=C3=A9cembre": "le lundi 16 mars",
    })
    clock.freeze(NOW + timedelta(minutes=2))
    body = post(client, ooo).get_json()
    assert body["classification"] == "auto_reply" and body["paused"] == [enrollment.id]
    back = datetime(2026, 3, 15, 23, 0, tzinfo=timezone.utc)  # Monday 16 March, 00:00 in Berlin (the company's zone)
    state = db.session.get(Enrollment, enrollment.id, populate_existing=True)
    assert (state.status, state.paused_until) == ("paused", back)

    assert _run_worker(NOW + timedelta(days=3)).sent == 0  # the follow-up waits while she is away
    assert resume_due_pauses(back - timedelta(seconds=1)) == 0
    db.session.commit()
    assert db.session.get(Enrollment, enrollment.id, populate_existing=True).status == "paused"
    assert resume_due_pauses(back) == 1
    db.session.commit()
    assert db.session.get(Enrollment, enrollment.id, populate_existing=True).status == "active"
    due = db.session.get(Enrollment, enrollment.id, populate_existing=True).next_due_at
    assert due > back  # step two moved forward by the time spent paused: no backlog fires on her return
    assert _run_worker(due - timedelta(seconds=1)).sent == 0
    assert _run_worker(due).sent == 1
    assert smtp_sink.wait_for(2)[-1].message["Subject"] == "Re: Quick question about your freight costs"


def test_a_bounce_stops_and_marks_the_address(client, smtp_sink, alice, make_contact, make_company, unlimited):
    contact, enrollment = _enrolled(alice, make_contact, make_company, "h.vogel@globex-industries.com")
    _run_worker(NOW)
    email = db.session.query(OutboundEmail).one()
    bounce = raw("bounce_postfix_hard.eml", **{"<seq.4b7d2e9a1c60.1@mail.acme-sales.com>": email.message_id})
    body = post(client, bounce).get_json()
    assert body["bounce_type"] == "hard" and body["stopped"] == [enrollment.id]
    assert db.session.get(Contact, contact.id, populate_existing=True).email_bounced_at == NOW


def test_a_permanent_smtp_refusal_stops_the_enrollment_as_bounced(smtp_sink, alice, make_contact, make_company,
                                                                  unlimited):
    contact, enrollment = _enrolled(alice, make_contact, make_company, "gone@globex-industries.com")
    smtp_sink.refuse("gone@globex-industries.com")
    assert _run_worker(NOW).failed == 1
    assert db.session.get(Enrollment, enrollment.id, populate_existing=True).stop_reason == "bounced"
