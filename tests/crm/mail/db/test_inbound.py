"""Inbound mail through the webhook, with the real raw messages in tests/fixtures/mail/:
classification, matching (thread, sender, colleague, alias), and the effects on real
enrollments (stop, pause until the stated date, bounce marks the address, unsubscribe)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity, Contact
from crm.extensions import db
from crm.mail.models import InboundMessage, OutboundEmail
from crm.mail.outbound.outbox import enqueue_email
from crm.sequences import library
from crm.sequences.models import Enrollment
from crm.sequences.services import enroll_contact
from tests.conftest import NOW

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mail"
SECRET = {"X-Inbound-Secret": "test-inbound-secret"}


def raw(name: str, **replace: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    for old, new in replace.items():
        data = data.replace(old.encode(), new.encode())
    return data


def without_headers(data: bytes, *names: str) -> bytes:
    """The message with some headers (and their folded lines) removed from the top block."""
    head, sep, body = data.partition(b"\n\n") if b"\r\n\r\n" not in data else data.partition(b"\r\n\r\n")
    lines, skipping = [], False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                lines.append(line)
            continue
        skipping = any(line.lower().startswith(n.lower().encode() + b":") for n in names)
        if not skipping:
            lines.append(line)
    return b"".join(lines) + sep + body


def post(client, data: bytes, headers=SECRET):
    return client.post("/api/v1/inbound-mail", data=data, headers=headers, content_type="message/rfc822")


@pytest.fixture
def sequence(alice, unlimited):
    seq = library.create_sequence(alice, {"name": "Freight outreach"}, NOW)
    library.add_step(alice, seq.id, {"kind": "auto_email", "subject": "Quick question about your freight costs",
                                     "text_body": "Hi {{ contact.first_name }}, a quick question."}, NOW)
    library.add_step(alice, seq.id, {"kind": "auto_email", "delay_days": 2, "subject": "Following up",
                                     "text_body": "Following up, {{ contact.first_name }}."}, NOW)
    db.session.commit()
    return seq


@pytest.fixture
def prospect(alice, make_contact, make_company, sequence):
    """prospect(email, message_id=None) -> (contact, enrollment, sent OutboundEmail or None)."""
    def make(email: str, message_id: str | None = None, time_zone: str = "Europe/Berlin"):
        domain = email.rpartition("@")[2].lower()
        company = db.session.scalar(select(Contact.company_id).where(Contact.email.like(f"%@{domain}")))
        if company is None and domain not in ("gmail.com",):
            company = make_company(name=domain, domain=domain).id
        contact = make_contact(email=email, owner_id=alice.id, company_id=company, time_zone=time_zone, actor=alice)
        enrollment = enroll_contact(alice, sequence.id, contact.id, NOW)
        sent = None
        if message_id:
            sent = enqueue_email(sender=alice, contact=contact, to_address=email, subject="Quick question about your freight costs",
                                 text_body="Hi", html_body=None, due_at=NOW, now=NOW, enrollment_id=enrollment.id)
            sent.message_id, sent.status, sent.sent_at = message_id, "sent", NOW
        db.session.commit()
        return contact, enrollment, sent

    return make


def _enrollment(enrollment_id):
    return db.session.get(Enrollment, enrollment_id, populate_existing=True)


# --- the webhook door ---------------------------------------------------------------------------

def test_secret_is_required_and_compared(client):
    data = raw("reply_gmail.eml")
    for headers in ({}, {"X-Inbound-Secret": "wrong"}, {"X-Inbound-Secret": ""},
                    {"X-Inbound-Secret": "test-inbound-secret "}, {"Authorization": "Bearer test-inbound-secret"}):
        response = post(client, data, headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"]["code"] == "unauthorized"
    assert db.session.query(InboundMessage).count() == 0


def test_no_secret_configured_closes_the_webhook(app, client):
    app.config["INBOUND_MAIL_SECRET"], saved = None, app.config["INBOUND_MAIL_SECRET"]
    try:
        assert post(client, raw("reply_gmail.eml"), {"X-Inbound-Secret": ""}).status_code == 401
    finally:
        app.config["INBOUND_MAIL_SECRET"] = saved


def test_wrong_content_type_empty_and_oversized_bodies(app, client):
    response = client.post("/api/v1/inbound-mail", data=raw("reply_gmail.eml"), headers=SECRET, content_type="text/plain")
    assert response.status_code == 415
    assert post(client, b"").status_code == 400
    app.config["MAIL_INBOUND_MAX_BYTES"], saved = 1000, app.config["MAIL_INBOUND_MAX_BYTES"]
    try:
        assert post(client, raw("reply_gmail.eml") + b"x" * 2000).status_code == 413
    finally:
        app.config["MAIL_INBOUND_MAX_BYTES"] = saved


@pytest.mark.parametrize("junk", [b"\x00\xff" * 100, b"From: \n\n", b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x",
                                  b"Subject: =?bogus?Q?=FF?=\nFrom: a@b\n\nhi", b"x" * 50_000])
def test_junk_is_classified_never_a_crash(client, junk):
    response = post(client, junk)
    assert response.status_code == 200
    assert set(response.get_json()) == {"classification", "bounce_type", "contact_id", "stopped", "paused"}


# --- replies ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,sender,message_id", [
    ("reply_gmail.eml", "bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>"),
    ("reply_apple_mail.eml", "m.osei@umbrella-pharma.co.uk", "<seq.2b8e41c07a93.1@mail.acme-sales.com>"),
    ("reply_html_only.eml", "priya.raman@initech-corp.com", "<seq.c41d8e2f7a90.1@mail.acme-sales.com>"),
    ("reply_unknown_charset.eml", "pierre.lambert@bordeaux-vins.fr", "<seq.5a0f2c8e9d17.1@mail.acme-sales.com>"),
    ("reply_no_content_type_8bit.eml", "j.mueller@lumen-logistik.de", "<seq.91e3b7d20c5f.1@mail.acme-sales.com>"),
])
def test_a_human_reply_in_the_thread_stops_notifies_and_is_logged(client, prospect, alice, name, sender, message_id):
    contact, enrollment, sent = prospect(sender, message_id)

    response = post(client, raw(name))

    assert response.status_code == 200
    assert response.get_json() == {"classification": "reply", "bounce_type": None, "contact_id": contact.id,
                                   "stopped": [enrollment.id], "paused": []}
    stopped = _enrollment(enrollment.id)
    assert stopped.status == "stopped" and stopped.stop_reason == "replied"
    assert db.session.get(OutboundEmail, sent.id, populate_existing=True).replied_at is not None
    activity = db.session.scalar(select(Activity).where(Activity.kind == "email_replied"))
    assert activity.contact_id == contact.id and activity.details["matched_by"] == "thread"


@pytest.mark.parametrize("name,sender", [
    ("reply_gmail.eml", "bob.keller@globex-industries.com"),
    ("reply_apple_mail.eml", "m.osei@umbrella-pharma.co.uk"),
    ("reply_outlook.eml", "dana.whitfield@northwind-traders.com"),
    ("reply_malformed_mime.eml", "t.brandt@hanse-spedition.de"),
])
def test_a_reply_without_thread_headers_matches_the_sender(client, prospect, name, sender):
    contact, enrollment, _ = prospect(sender)
    data = without_headers(raw(name), "In-Reply-To", "References")
    body = post(client, data).get_json()
    assert body["classification"] == "reply" and body["contact_id"] == contact.id
    assert body["stopped"] == [enrollment.id]
    assert db.session.scalar(select(InboundMessage.matched_by)) == "sender"


def test_a_reply_from_an_alias_matches_by_thread(client, prospect):
    contact, enrollment, _ = prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.2@mail.acme-sales.com>")
    body = post(client, raw("reply_alias.eml")).get_json()  # from b.keller@, a different address
    assert body["contact_id"] == contact.id and body["stopped"] == [enrollment.id]


def test_a_colleague_reply_stops_by_default_and_not_when_configured(app, client, prospect):
    contact, enrollment, _ = prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    app.config["MAIL_COLLEAGUE_REPLY_STOPS"] = False
    try:
        body = post(client, raw("reply_colleague.eml")).get_json()
    finally:
        app.config["MAIL_COLLEAGUE_REPLY_STOPS"] = True
    assert body["classification"] == "reply" and body["contact_id"] == contact.id and body["stopped"] == []
    assert _enrollment(enrollment.id).status == "active"
    # The same colleague writing fresh (no thread headers) with stopping on.
    fresh = without_headers(raw("reply_colleague.eml", **{"5e2c9a71": "5e2c9a72"}), "In-Reply-To", "References")
    body = post(client, fresh).get_json()
    assert body["contact_id"] == contact.id and body["stopped"] == [enrollment.id]
    assert db.session.scalars(select(InboundMessage.matched_by).order_by(InboundMessage.id)).all() == ["colleague", "colleague"]


def test_the_reps_own_sent_copy_never_counts(client, prospect, alice):
    alice_mailbox_address = "alice.martin@acme-sales.com"
    from crm.mail.models import mailbox_for

    mailbox = mailbox_for(alice)
    mailbox.aliases = [alice_mailbox_address]
    db.session.commit()
    contact, enrollment, _ = prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    body = post(client, raw("own_sent_copy.eml")).get_json()
    assert body["classification"] == "other" and body["contact_id"] is None and body["stopped"] == []
    assert _enrollment(enrollment.id).status == "active"


def test_a_reply_from_nobody_we_know_is_classified_but_matches_nothing(client):
    body = post(client, raw("reply_gmail.eml")).get_json()
    assert body == {"classification": "reply", "bounce_type": None, "contact_id": None, "stopped": [], "paused": []}


# --- the same message twice ---------------------------------------------------------------------

def test_the_same_message_twice_acts_once(client, prospect):
    contact, enrollment, _ = prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    first = post(client, raw("reply_gmail.eml")).get_json()
    second = post(client, raw("reply_gmail.eml")).get_json()
    assert first == second
    assert db.session.query(InboundMessage).count() == 1
    assert db.session.query(Activity).filter(Activity.kind == "email_replied").count() == 1


# --- auto-replies -------------------------------------------------------------------------------

@pytest.mark.parametrize("name,sender,message_id,back", [
    ("ooo_exchange_en.eml", "sarah.lindqvist@contoso-retail.com", "<seq.e07b2d9c4f18.1@mail.acme-sales.com>", None),
    ("ooo_french_zimbra.eml", "celine.dubois@chateau-margaux-logistique.fr", "<seq.8a2c5e1f9b04.1@mail.acme-sales.com>", None),
    ("ooo_german_noheaders.eml", "k.schroeder@lumen-logistik.de", None, None),
    ("ooo_spanish_headers.eml", "lucia.fernandez@tecnomadrid.es", None, None),
    ("ooo_spanish_noheaders.eml", "jorge.navarro@distribuciones-levante.es", None, None),
    ("ooo_italian.eml", "g.bianchi@trasporti-padani.it", "<seq.f19c3a7e2d58.1@mail.acme-sales.com>", None),
    ("ooo_dutch.eml", "p.devries@havenbedrijf-noord.nl", "<seq.07d4b1e8c3a6.1@mail.acme-sales.com>", None),
])
def test_out_of_office_pauses_until_the_return_date(client, prospect, name, sender, message_id, back):
    from crm.mail.inbound import classify_message

    contact, enrollment, _ = prospect(sender, message_id)
    expected = classify_message(raw(name), now=datetime.now(timezone.utc))  # the pure verdict, for the date
    body = post(client, raw(name)).get_json()
    assert body["classification"] == "auto_reply" and body["contact_id"] == contact.id
    assert body["paused"] == [enrollment.id] and body["stopped"] == []
    paused = _enrollment(enrollment.id)
    assert paused.status == "paused" and paused.pause_reason == "out_of_office"
    if expected.return_date is not None:
        local = paused.paused_until.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
        assert (local.date(), local.hour, local.minute) == (expected.return_date, 0, 0)
    assert db.session.query(Activity).filter(Activity.kind == "email_replied").count() == 0


def test_out_of_office_with_a_date_resumes_on_that_day(client, prospect):
    contact, enrollment, _ = prospect("celine.dubois@chateau-margaux-logistique.fr", "<seq.8a2c5e1f9b04.1@mail.acme-sales.com>")
    post(client, raw("ooo_french_zimbra.eml"))
    from crm.mail.inbound import classify_message

    verdict = classify_message(raw("ooo_french_zimbra.eml"), now=datetime.now(timezone.utc))
    assert verdict.return_date is not None  # the fixture states a date
    until = _enrollment(enrollment.id).paused_until
    assert until == datetime.combine(verdict.return_date, datetime.min.time(),
                                     __import__("zoneinfo").ZoneInfo("Europe/Berlin")).astimezone(timezone.utc)


def test_out_of_office_without_a_date_pauses_for_the_default(app, client, prospect):
    contact, enrollment, _ = prospect("lars.haugen@fjord-seafood.no", "<seq.a6e3f0c9b2d1.1@mail.acme-sales.com>")
    before = datetime.now(timezone.utc)
    body = post(client, raw("ooo_no_date.eml")).get_json()
    assert body["classification"] == "auto_reply" and body["paused"] == [enrollment.id]
    until = _enrollment(enrollment.id).paused_until
    days = app.config.get("SEQUENCE_PAUSE_DEFAULT_DAYS", 14)
    assert before + timedelta(days=days) <= until <= datetime.now(timezone.utc) + timedelta(days=days)


# --- bounces ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,recipient,message_id", [
    ("bounce_postfix_hard.eml", "h.vogel@globex-industries.com", "<seq.4b7d2e9a1c60.1@mail.acme-sales.com>"),
    ("bounce_exchange_ndr.eml", None, "<seq.c8f3a1d6e2b9.1@mail.acme-sales.com>"),
    ("bounce_exim.eml", None, "<seq.6b0d3f8e1a72.1@mail.acme-sales.com>"),
    ("bounce_qmail.eml", None, "<seq.2f6c9e3a8b17.1@mail.acme-sales.com>"),
])
def test_a_hard_bounce_marks_the_address_and_stops(client, prospect, name, recipient, message_id):
    from crm.mail.inbound import classify_message

    verdict = classify_message(raw(name))
    assert verdict.bounce_type == "hard"
    recipient = recipient or verdict.bounced_recipients[0]
    contact, enrollment, sent = prospect(recipient, message_id)
    body = post(client, raw(name)).get_json()
    assert body == {"classification": "bounce", "bounce_type": "hard", "contact_id": contact.id,
                    "stopped": [enrollment.id], "paused": []}
    assert db.session.get(Contact, contact.id, populate_existing=True).email_bounced_at is not None
    assert db.session.get(OutboundEmail, sent.id, populate_existing=True).bounced_at is not None
    assert _enrollment(enrollment.id).stop_reason == "bounced"


def test_a_hard_bounce_matches_the_recipient_without_our_message_id(client, prospect):
    contact, enrollment, _ = prospect("h.vogel@globex-industries.com")
    body = post(client, raw("bounce_postfix_hard.eml")).get_json()
    assert body["contact_id"] == contact.id and body["stopped"] == [enrollment.id]


def test_a_soft_bounce_retries_and_the_third_stops(client, prospect):
    contact, enrollment, sent = prospect("ops@brightline-freight.com", "<seq.9e1a4c7b3f25.1@mail.acme-sales.com>")
    for strike in (1, 2, 3):
        data = raw("bounce_soft_mailbox_full.eml", **{"4Ch1Gk1Hv3z9sWn": f"4Ch1Gk1Hv3z9sW{strike}"})
        body = post(client, data).get_json()
        assert body["classification"] == "bounce" and body["bounce_type"] == "soft"
        assert body["stopped"] == [] and body["contact_id"] == contact.id
        state = _enrollment(enrollment.id)
        assert state.soft_bounce_count == strike
        if strike < 3:
            assert state.status == "active"
    assert state.status == "stopped" and state.stop_reason == "bounced"
    assert db.session.get(Contact, contact.id, populate_existing=True).email_bounced_at is None


def test_delivery_reports_and_read_receipts_change_nothing(client, prospect):
    contact, enrollment, _ = prospect("bob.keller@globex-industries.com")
    assert post(client, raw("dsn_delivered.eml")).get_json()["classification"] == "other"
    assert post(client, raw("read_receipt.eml")).get_json()["classification"] == "other"
    assert _enrollment(enrollment.id).status == "active"


# --- unsubscribe by mail ------------------------------------------------------------------------

def test_an_unsubscribe_reply_unsubscribes_and_stops(client, prospect):
    contact, enrollment, _ = prospect("r.patel@meridian-foods.com", "<seq.0e9b5c2a7f41.2@mail.acme-sales.com>")
    body = post(client, raw("unsubscribe_reply.eml")).get_json()
    assert body["classification"] == "unsubscribe_request" and body["stopped"] == [enrollment.id]
    assert db.session.get(Contact, contact.id, populate_existing=True).unsubscribed is True
    assert db.session.query(Activity).filter(Activity.kind == "unsubscribed").count() == 1


def test_mail_to_our_list_unsubscribe_address_finds_the_contact_by_token(client, prospect, alice):
    from crm.mail.unsubscribe import unsubscribe_mailto

    contact, enrollment, sent = prospect("stan@baltic-components.pl", "<seq.unsub.1@mail.acme-sales.com>")
    address = unsubscribe_mailto(sent.id, "acme-sales.com")
    # Sent from another address than the contact's: only the token in the address tells who.
    data = re.sub(rb"(?m)^To:.*$", f"To: {address}".encode(), raw("unsubscribe_mailto.eml"), count=1)
    body = post(client, data).get_json()
    assert body["classification"] == "unsubscribe_request" and body["contact_id"] == contact.id
    assert body["stopped"] == [enrollment.id]
