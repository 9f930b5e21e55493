"""Inbound mail through the webhook, with the real raw messages in tests/fixtures/mail/:
classification, matching (thread, sender, colleague, alias), and the effects on real
enrollments (stop, pause until the stated date, bounce marks the address, unsubscribe)."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity, Contact
from crm.extensions import db
from crm.mail.models import InboundMessage, OutboundEmail
from crm.sequences.models import Enrollment
from tests.conftest import NOW
from tests.crm.mail.mailfactory import day_month, out_of_office

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mail"
SECRET = {"X-Inbound-Secret": "test-inbound-secret"}
BERLIN = ZoneInfo("Europe/Berlin")


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
    response = client.post("/api/v1/inbound-mail", data=raw("reply_gmail.eml"), headers=SECRET,
                           content_type="text/plain")
    assert response.status_code == 415
    assert post(client, b"").status_code == 400
    app.config["MAIL_INBOUND_MAX_BYTES"], saved = 1000, app.config["MAIL_INBOUND_MAX_BYTES"]
    try:
        assert post(client, raw("reply_gmail.eml") + b"x" * 2000).status_code == 413
    finally:
        app.config["MAIL_INBOUND_MAX_BYTES"] = saved


@pytest.mark.parametrize("junk", [b"\x00\xff" * 100, b"From: \n\n",
                                  b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x",
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
    assert db.session.get(OutboundEmail, sent.id, populate_existing=True).replied_at == NOW
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
    matched_by = db.session.scalars(select(InboundMessage.matched_by).order_by(InboundMessage.id)).all()
    assert matched_by == ["colleague", "colleague"]


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

def berlin_midnight(day: date) -> datetime:
    """The start of ``day`` in Europe/Berlin (the prospects' zone), in UTC."""
    return datetime.combine(day, time(0), BERLIN).astimezone(timezone.utc)


# Each dated fixture, the UTC moment of its Date header and the return date its text states.
# The message arrives two minutes after it was written.
OUT_OF_OFFICE = [
    # "will return on Monday, 7 December 2026"
    ("ooo_exchange_en.eml", "sarah.lindqvist@contoso-retail.com", "<seq.e07b2d9c4f18.1@mail.acme-sales.com>",
     datetime(2026, 11, 25, 8, 15, 9, tzinfo=timezone.utc), date(2026, 12, 7)),
    # "will be back on Thursday, December 3" (written 00:16 -0800)
    ("ooo_gmail_vacation.eml", "emma.rossi.design@gmail.com", "<seq.3d9a6f0b1e72.1@mail.acme-sales.com>",
     datetime(2026, 11, 25, 8, 16, 39, tzinfo=timezone.utc), date(2026, 12, 3)),
    # "absente du bureau jusqu'au 2 décembre inclus. Je serai de retour le jeudi 3 décembre."
    ("ooo_french_zimbra.eml", "celine.dubois@chateau-margaux-logistique.fr", "<seq.8a2c5e1f9b04.1@mail.acme-sales.com>",
     datetime(2026, 11, 25, 8, 18, 41, tzinfo=timezone.utc), date(2026, 12, 3)),
    # "bis einschließlich 02.12.2026 nicht im Büro ... Ab dem 03.12.2026 bin ich wieder erreichbar."
    ("ooo_german_noheaders.eml", "k.schroeder@lumen-logistik.de", None,
     datetime(2026, 11, 25, 8, 17, 0, tzinfo=timezone.utc), date(2026, 12, 3)),
    # "fuera de la oficina hasta el 2 de diciembre. Regresaré el lunes 7 de diciembre"
    ("ooo_spanish_headers.eml", "lucia.fernandez@tecnomadrid.es", None,
     datetime(2026, 11, 25, 8, 19, 55, tzinfo=timezone.utc), date(2026, 12, 7)),
    # "regreso el 3 de diciembre de 2026" (base64)
    ("ooo_spanish_noheaders.eml", "jorge.navarro@distribuciones-levante.es", None,
     datetime(2026, 11, 25, 8, 21, 11, tzinfo=timezone.utc), date(2026, 12, 3)),
    # "sarò fuori sede fino al 4 dicembre compreso": back the day after
    ("ooo_italian.eml", "g.bianchi@trasporti-padani.it", "<seq.f19c3a7e2d58.1@mail.acme-sales.com>",
     datetime(2026, 11, 25, 8, 23, 29, tzinfo=timezone.utc), date(2026, 12, 5)),
    # "afwezig tot en met vrijdag 4 december. Vanaf maandag 7 december ben ik weer op kantoor."
    ("ooo_dutch.eml", "p.devries@havenbedrijf-noord.nl", "<seq.07d4b1e8c3a6.1@mail.acme-sales.com>",
     datetime(2026, 11, 25, 8, 24, 46, tzinfo=timezone.utc), date(2026, 12, 7)),
]


@pytest.mark.parametrize("name,sender,message_id,written,back", OUT_OF_OFFICE)
def test_out_of_office_pauses_until_the_return_date(client, clock, prospect, name, sender, message_id,
                                                    written, back):
    contact, enrollment, _ = prospect(sender, message_id)
    arrived = clock.freeze(written + timedelta(minutes=2))
    body = post(client, raw(name)).get_json()
    assert body == {"classification": "auto_reply", "bounce_type": None, "contact_id": contact.id,
                    "stopped": [], "paused": [enrollment.id]}
    paused = _enrollment(enrollment.id)
    assert (paused.status, paused.pause_reason, paused.paused_at) == ("paused", "out_of_office", arrived)
    assert paused.paused_until == berlin_midnight(back)
    assert db.session.query(Activity).filter(Activity.kind == "email_replied").count() == 0


def test_out_of_office_without_a_date_pauses_for_the_default_from_its_arrival(app, client, clock, prospect):
    """ooo_no_date.eml: "I will answer your message as soon as possible"."""
    contact, enrollment, _ = prospect("lars.haugen@fjord-seafood.no", "<seq.a6e3f0c9b2d1.1@mail.acme-sales.com>")
    arrived = clock.freeze(datetime(2026, 11, 25, 8, 28, 2, tzinfo=timezone.utc))  # Date: 09:26:02 +0100
    body = post(client, raw("ooo_no_date.eml")).get_json()
    assert body["classification"] == "auto_reply" and body["paused"] == [enrollment.id]
    assert app.config["SEQUENCE_PAUSE_DEFAULT_DAYS"] == 14
    assert _enrollment(enrollment.id).paused_until == arrived + timedelta(days=14)


def test_the_fixtures_return_dates_in_utc():
    """The expectations above, spelled out: midnight in Berlin is 23:00 UTC the day before."""
    assert berlin_midnight(date(2026, 12, 7)) == datetime(2026, 12, 6, 23, 0, tzinfo=timezone.utc)
    assert berlin_midnight(date(2026, 3, 10)) == datetime(2026, 3, 9, 23, 0, tzinfo=timezone.utc)


def test_out_of_office_pauses_until_midnight_in_the_contacts_zone(client, clock, prospect):
    contact, enrollment, _ = prospect("emma.rossi.design@gmail.com", "<seq.3d9a6f0b1e72.1@mail.acme-sales.com>",
                                      time_zone="America/Los_Angeles")
    clock.freeze(datetime(2026, 11, 25, 8, 18, tzinfo=timezone.utc))
    post(client, raw("ooo_gmail_vacation.eml"))
    # back on 3 December: 00:00 in Los Angeles (PST, -08:00)
    assert _enrollment(enrollment.id).paused_until == datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)


def test_out_of_office_with_a_date_resumes_on_that_day(client, clock, prospect):
    from crm.sequences.services import resume_due_pauses

    contact, enrollment, _ = prospect("celine.dubois@chateau-margaux-logistique.fr",
                                      "<seq.8a2c5e1f9b04.1@mail.acme-sales.com>")
    clock.freeze(datetime(2026, 11, 25, 8, 20, 41, tzinfo=timezone.utc))
    post(client, raw("ooo_french_zimbra.eml"))
    back = datetime(2026, 12, 2, 23, 0, tzinfo=timezone.utc)  # "de retour le jeudi 3 décembre", Berlin
    assert _enrollment(enrollment.id).paused_until == back

    assert resume_due_pauses(back - timedelta(microseconds=1)) == 0
    db.session.commit()
    assert _enrollment(enrollment.id).status == "paused"
    assert resume_due_pauses(back) == 1
    db.session.commit()
    resumed = _enrollment(enrollment.id)
    assert (resumed.status, resumed.paused_until, resumed.pause_reason) == ("active", None, None)


def test_out_of_office_without_a_date_pauses_for_the_default(app, client, prospect):
    contact, enrollment, _ = prospect("lars.haugen@fjord-seafood.no", "<seq.a6e3f0c9b2d1.1@mail.acme-sales.com>")
    body = post(client, raw("ooo_no_date.eml")).get_json()  # at NOW
    assert body["classification"] == "auto_reply" and body["paused"] == [enrollment.id]
    assert app.config["SEQUENCE_PAUSE_DEFAULT_DAYS"] == 14
    assert _enrollment(enrollment.id).paused_until == NOW + timedelta(days=14)


@pytest.mark.parametrize("name,sender,message_id,written,back", OUT_OF_OFFICE)
def test_an_out_of_office_processed_months_after_its_return_date_resumes_at_once(
        client, clock, prospect, name, sender, message_id, written, back):
    """A backlog (IMAP catching up, a webhook retried late): the dates mean what they meant
    when written, so the stated return has passed and the contact is back. The pause ends at
    that moment and the resume job lifts it at its next tick, never a pause into next year
    nor the 14-day default."""
    from crm.sequences.services import resume_due_pauses

    contact, enrollment, _ = prospect(sender, message_id)
    later = clock.freeze(datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc))
    body = post(client, raw(name)).get_json()
    assert body["classification"] == "auto_reply" and body["paused"] == [enrollment.id]
    assert _enrollment(enrollment.id).paused_until == berlin_midnight(back)
    assert resume_due_pauses(later) == 1
    db.session.commit()
    assert _enrollment(enrollment.id).status == "active"


def test_an_undated_out_of_office_processed_late_pauses_for_the_default_from_now(app, client, clock, prospect):
    contact, enrollment, _ = prospect("lars.haugen@fjord-seafood.no", "<seq.a6e3f0c9b2d1.1@mail.acme-sales.com>")
    later = clock.freeze(datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc))
    post(client, raw("ooo_no_date.eml"))
    assert _enrollment(enrollment.id).paused_until == later + timedelta(days=app.config["SEQUENCE_PAUSE_DEFAULT_DAYS"])


# --- out-of-office notices written now (relative to the frozen clock) ---------------------------

BOB = "bob.keller@globex-industries.com"
OURS = "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>"


def notice(body: str, written: datetime | str | None = NOW - timedelta(minutes=3)) -> bytes:
    """Bob's auto-reply to our first email, written three minutes before NOW."""
    return out_of_office(body, written, sender=f"Bob Keller <{BOB}>", In_Reply_To=OURS,
                         message_id="<ooo.1@globex-industries.com>")


def test_back_today_resumes_at_the_same_tick_never_14_days(client, prospect):
    from crm.sequences.services import resume_due_pauses

    contact, enrollment, _ = prospect(BOB, OURS)
    body = post(client, notice(
        f"I was travelling last week and am back in the office on {day_month(NOW.date())}.")).get_json()
    assert body["classification"] == "auto_reply" and body["paused"] == [enrollment.id]
    paused = _enrollment(enrollment.id)
    assert paused.paused_until == berlin_midnight(NOW.date()) == datetime(2026, 3, 9, 23, 0, tzinfo=timezone.utc)
    assert resume_due_pauses(NOW) == 1
    db.session.commit()
    assert _enrollment(enrollment.id).status == "active"


def test_back_tomorrow_resumes_at_midnight(client, prospect):
    from crm.sequences.services import resume_due_pauses

    contact, enrollment, _ = prospect(BOB, OURS)
    post(client, notice("Out of the office today, back tomorrow."))
    back = datetime(2026, 3, 10, 23, 0, tzinfo=timezone.utc)  # 11 March, 00:00 in Berlin
    assert _enrollment(enrollment.id).paused_until == back
    assert resume_due_pauses(NOW) == 0
    assert resume_due_pauses(back - timedelta(seconds=1)) == 0
    db.session.commit()
    assert _enrollment(enrollment.id).status == "paused"
    assert resume_due_pauses(back) == 1
    db.session.commit()
    assert _enrollment(enrollment.id).status == "active"


@pytest.mark.parametrize("body", [
    f"I was out of the office and returned on {day_month(NOW.date() - timedelta(days=8))}.",  # 2 March: stale
    "I am travelling with limited access to email.",  # no date
])
def test_a_past_or_missing_return_date_pauses_for_the_default(app, client, prospect, body):
    contact, enrollment, _ = prospect(BOB, OURS)
    post(client, notice(body))
    assert _enrollment(enrollment.id).paused_until == NOW + timedelta(days=app.config["SEQUENCE_PAUSE_DEFAULT_DAYS"])


@pytest.mark.parametrize("written", [None, "sometime last week", "Sat, 01 Jan 2028 09:00:00 +0000"])
def test_a_missing_or_bogus_date_header_reads_the_text_relative_to_now(client, prospect, written):
    contact, enrollment, _ = prospect(BOB, OURS)
    post(client, notice("I am on leave and will be back on Monday.", written))
    assert _enrollment(enrollment.id).paused_until == berlin_midnight(date(2026, 3, 16))  # NOW is a Tuesday


# --- bounces ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,recipient,message_id", [
    ("bounce_postfix_hard.eml", "h.vogel@globex-industries.com", "<seq.4b7d2e9a1c60.1@mail.acme-sales.com>"),
    ("bounce_exchange_ndr.eml", "m.jansen@contoso-retail.com", "<seq.c8f3a1d6e2b9.1@mail.acme-sales.com>"),
    ("bounce_exim.eml", "g.price@harbor-supplies.co.uk", "<seq.6b0d3f8e1a72.1@mail.acme-sales.com>"),
    ("bounce_qmail.eml", "frank.mills@oldtown-hardware.com", "<seq.2f6c9e3a8b17.1@mail.acme-sales.com>"),
])
def test_a_hard_bounce_marks_the_address_and_stops(client, prospect, name, recipient, message_id):
    contact, enrollment, sent = prospect(recipient, message_id)
    body = post(client, raw(name)).get_json()
    assert body == {"classification": "bounce", "bounce_type": "hard", "contact_id": contact.id,
                    "stopped": [enrollment.id], "paused": []}
    assert db.session.get(Contact, contact.id, populate_existing=True).email_bounced_at == NOW
    assert db.session.get(OutboundEmail, sent.id, populate_existing=True).bounced_at == NOW
    assert _enrollment(enrollment.id).stop_reason == "bounced"


def test_a_hard_bounce_matches_the_recipient_without_our_message_id(client, prospect):
    contact, enrollment, _ = prospect("h.vogel@globex-industries.com")
    body = post(client, raw("bounce_postfix_hard.eml")).get_json()
    assert body["contact_id"] == contact.id and body["stopped"] == [enrollment.id]


def test_a_soft_bounce_retries_and_the_third_stops(client, prospect):
    contact, enrollment, sent = prospect("ops@brightline-freight.com", "<seq.9e1a4c7b3f25.1@mail.acme-sales.com>")
    for strike, expected in ((1, (1, "active", None)), (2, (2, "active", None)), (3, (3, "stopped", "bounced"))):
        data = raw("bounce_soft_mailbox_full.eml", **{"4Ch1Gk1Hv3z9sWn": f"4Ch1Gk1Hv3z9sW{strike}"})
        body = post(client, data).get_json()
        assert body["classification"] == "bounce" and body["bounce_type"] == "soft"
        assert body["stopped"] == [] and body["contact_id"] == contact.id
        state = _enrollment(enrollment.id)
        assert (state.soft_bounce_count, state.status, state.stop_reason) == expected, strike
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
