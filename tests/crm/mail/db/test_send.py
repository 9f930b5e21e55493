"""The send tick against a real SMTP server (aiosmtpd): headers, threading, unsubscribe,
limits, transient and permanent refusals, stale claims."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm import signals
from crm.contacts.models import Activity
from crm.extensions import db
from crm.mail.models import Mailbox, OutboundEmail, mailbox_for
from crm.mail.outbound.sender import send_due
from crm.mail.unsubscribe import read_token
from tests.conftest import NOW


def _reload(email):
    return db.session.get(OutboundEmail, email.id, populate_existing=True)


def test_sequence_email_leaves_with_headers_threading_and_unsubscribe(app, smtp_sink, queue, alice, make_contact):
    contact = make_contact(email="dana@globex-industries.com", first_name="Dana")
    mailbox = mailbox_for(alice)
    mailbox.display_name, mailbox.from_address = "Alice Martin", "alice@acme-sales.com"
    db.session.commit()
    first = queue(alice, contact, html_body="<html><body><p>Hello <b>Dana</b></p></body></html>")
    follow = queue(alice, contact, subject="Re: Quick question", in_reply_to=first.message_id,
                   references=first.message_id, due_at=NOW + timedelta(days=3))

    result = send_due(NOW)

    assert result.sent == 1
    [received] = smtp_sink.wait_for(1)
    message = received.message
    assert received.rcpt_tos == ["dana@globex-industries.com"]
    assert message["From"] == "Alice Martin <alice@acme-sales.com>"
    assert message["Subject"] == "Quick question"
    assert message["Message-ID"] == first.message_id and first.message_id.endswith("@acme-sales.com>")
    assert message["Date"]
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://crm.example.com/u/") and "<mailto:unsubscribe+" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = unsubscribe.split("/u/")[1].split(">")[0]
    assert read_token(token) == first.id
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello there" in text and f"/u/{token}" in text
    assert "Hello <b>Dana</b>" in html and f"/u/{token}" in html
    assert html.index("Unsubscribe") < html.lower().index("</body>")

    sent = _reload(first)
    assert sent.status == "sent" and sent.sent_at == NOW and sent.attempts == 1
    activity = db.session.scalar(select(Activity).where(Activity.kind == "email_sent"))
    assert activity.contact_id == contact.id and activity.details["outbound_email_id"] == first.id
    assert _reload(follow).status == "queued"  # not due yet

    send_due(NOW + timedelta(days=3))
    second = smtp_sink.wait_for(2)[1].message
    assert second["In-Reply-To"] == first.message_id
    assert second["References"] == first.message_id
    assert second["Subject"] == "Re: Quick question"


def test_one_off_email_has_no_list_unsubscribe(app, smtp_sink, queue, alice, make_contact):
    contact = make_contact()
    queue(alice, contact, kind="one_off")
    send_due(NOW)
    [received] = smtp_sink.wait_for(1)
    assert received.message["List-Unsubscribe"] is None
    assert received.message.get_body(("plain",)).get_content().strip() == "Hello there"


def test_drafts_and_future_rows_stay_put(app, smtp_sink, queue, alice, make_contact):
    contact = make_contact()
    draft = queue(alice, contact, status="draft")
    later = queue(alice, contact, due_at=NOW + timedelta(seconds=1))
    assert not send_due(NOW).sent
    assert _reload(draft).status == "draft" and _reload(later).status == "queued"
    assert smtp_sink.messages == []


def test_one_connection_per_mailbox_per_tick(app, smtp_sink, queue, alice, make_contact, monkeypatch):
    from crm.mail import transport

    opened = []
    real_open = transport.open_smtp
    monkeypatch.setattr(transport, "open_smtp", lambda settings: opened.append(1) or real_open(settings))
    for _ in range(5):
        queue(alice, make_contact())
    assert send_due(NOW).sent == 5
    assert len(smtp_sink.wait_for(5)) == 5
    assert len(opened) == 1


def test_daily_cap_defers_instead_of_failing(app, smtp_sink, queue, alice, make_contact):
    contacts = [make_contact() for _ in range(4)]
    emails = [queue(alice, c) for c in contacts]
    mailbox = mailbox_for(alice)
    mailbox.daily_cap, mailbox.min_gap_seconds = 3, 0
    db.session.commit()
    # Two sent yesterday evening still count inside the rolling 24 hours.
    old = [queue(alice, make_contact(), due_at=NOW - timedelta(hours=20)) for _ in range(2)]
    db.session.execute(OutboundEmail.__table__.update().where(OutboundEmail.id.in_([o.id for o in old]))
                       .values(status="sent", sent_at=NOW - timedelta(hours=20)))
    db.session.commit()

    result = send_due(NOW)

    assert result.sent == 1 and result.failed == 0
    assert len(smtp_sink.wait_for(1)) == 1
    waiting = [_reload(e) for e in emails[1:]]
    assert all(e.status == "queued" for e in waiting)
    send_due(NOW + timedelta(minutes=5))  # the tick after: still capped, pushed again
    assert [e.status for e in map(_reload, emails[1:])] == ["queued"] * 3
    pushed = {_reload(e).due_at for e in emails[1:]}
    assert pushed == {NOW - timedelta(hours=20) + timedelta(hours=24)}
    assert send_due(NOW + timedelta(hours=4, seconds=1)).sent == 2  # both old sends left the window
    assert len(smtp_sink.wait_for(3)) == 3


def test_min_gap_sends_one_message_per_gap(app, smtp_sink, queue, alice, make_contact):
    emails = [queue(alice, make_contact()) for _ in range(3)]
    mailbox = mailbox_for(alice)
    mailbox.daily_cap, mailbox.min_gap_seconds = 0, 30
    db.session.commit()

    assert send_due(NOW).sent == 1
    assert send_due(NOW + timedelta(seconds=10)).sent == 0
    assert _reload(emails[1]).due_at == NOW + timedelta(seconds=30)
    assert send_due(NOW + timedelta(seconds=30)).sent == 1
    assert send_due(NOW + timedelta(seconds=60)).sent == 1
    sent_at = sorted(_reload(e).sent_at for e in emails)
    assert sent_at == [NOW, NOW + timedelta(seconds=30), NOW + timedelta(seconds=60)]
    assert len(smtp_sink.wait_for(3)) == 3


def test_permanent_refusal_fails_and_the_rest_goes_on(app, smtp_sink, queue, alice, make_contact, monkeypatch):
    calls = []

    def failed(email, *, permanent, now):
        calls.append(("email_failed", email.id, (permanent, now)))

    def sent(_sender, *, emails):
        calls.extend(("emails_sent", row.id, (row.sent_at,)) for row in emails)

    bad = make_contact(email="nobody@globex-industries.com")
    good = make_contact()
    smtp_sink.refuse("nobody@globex-industries.com")
    refused = queue(alice, bad, enrollment_id=7)
    fine = queue(alice, good, enrollment_id=8)

    with signals.email_failed.connected_to(failed), signals.emails_sent.connected_to(sent):
        result = send_due(NOW)

    assert (result.sent, result.failed) == (1, 1)
    refused = _reload(refused)
    assert refused.status == "failed" and refused.last_error.startswith("550")
    assert _reload(fine).status == "sent"
    assert ("email_failed", refused.id, (True, NOW)) in calls
    assert ("emails_sent", fine.id, (NOW,)) in calls  # recorded with its batch
    assert [r.rcpt_tos for r in smtp_sink.wait_for(1)] == [[good.email]]


def test_transient_failure_requeues_with_backoff_then_sends(app, smtp_sink, queue, alice, make_contact):
    email = queue(alice, make_contact())
    app.config["SMTP_PORT"], real_port = 1, app.config["SMTP_PORT"]  # nothing listens on port 1
    try:
        result = send_due(NOW)
    finally:
        app.config["SMTP_PORT"] = real_port
    assert result.retried == 1 and result.failed == 0
    email = _reload(email)
    assert email.status == "queued" and email.attempts == 1 and email.claimed_by is None
    assert email.due_at == NOW + timedelta(seconds=app.config["MAIL_RETRY_BASE_SECONDS"])
    assert "connection" in email.last_error
    assert send_due(NOW + timedelta(seconds=1)).sent == 0  # backing off
    assert send_due(email.due_at).sent == 1
    assert len(smtp_sink.wait_for(1)) == 1


def test_transient_4xx_from_server_retries(app, smtp_sink, queue, alice, make_contact):
    contact = make_contact(email="busy@globex-industries.com")
    email = queue(alice, contact)
    smtp_sink.handler.refuse.add("busy@globex-industries.com")
    original = type(smtp_sink.handler).handle_RCPT

    async def greylist(self, server, session, envelope, address, rcpt_options):
        return "451 4.7.1 greylisted, try again later"

    type(smtp_sink.handler).handle_RCPT = greylist
    try:
        assert send_due(NOW).retried == 1
    finally:
        type(smtp_sink.handler).handle_RCPT = original
        smtp_sink.handler.refuse.clear()
    email = _reload(email)
    assert email.status == "queued" and email.last_error.startswith("451")


def test_gives_up_after_max_attempts(app, smtp_sink, queue, alice, make_contact):
    email = queue(alice, make_contact())
    db.session.execute(OutboundEmail.__table__.update().values(attempts=app.config["MAIL_MAX_ATTEMPTS"] - 1))
    db.session.commit()
    app.config["SMTP_PORT"], real_port = 1, app.config["SMTP_PORT"]
    try:
        assert send_due(NOW).failed == 1
    finally:
        app.config["SMTP_PORT"] = real_port
    assert _reload(email).status == "failed"


def test_stale_claim_is_reclaimed_and_sent_once(app, smtp_sink, queue, alice, make_contact):
    email = queue(alice, make_contact())
    # A worker claimed it and died before sending.
    db.session.execute(OutboundEmail.__table__.update().values(
        status="sending", claimed_by="dead-worker", claimed_at=NOW - timedelta(minutes=1)))
    db.session.commit()
    assert send_due(NOW).sent == 0  # not stale yet: the worker may still be alive
    later = NOW + timedelta(seconds=app.config["MAIL_CLAIM_TIMEOUT_SECONDS"])
    result = send_due(later)
    assert result.reclaimed == 1 and result.sent == 1
    assert _reload(email).status == "sent"
    assert send_due(later + timedelta(hours=1)).sent == 0
    assert len(smtp_sink.wait_for(1)) == 1


def test_file_transport_writes_eml_and_delivers_nothing(app, smtp_sink, queue, alice, make_contact, tmp_path):
    saved = app.config["MAIL_TRANSPORT"], app.config["INSTANCE_DIR"]
    app.config.update(MAIL_TRANSPORT="file", INSTANCE_DIR=tmp_path)
    try:
        queue(alice, make_contact())
        assert send_due(NOW).sent == 1
    finally:
        app.config["MAIL_TRANSPORT"], app.config["INSTANCE_DIR"] = saved
    assert len(list((tmp_path / "sent-mail").glob("*.eml"))) == 1
    assert smtp_sink.messages == []


def test_cancel_queued_for_enrollment(app, queue, alice, make_contact):
    from crm.mail.outbound.outbox import cancel_queued_for_enrollment

    contact = make_contact()
    queued = queue(alice, contact, enrollment_id=5)
    draft = queue(alice, contact, enrollment_id=5, status="draft")
    other = queue(alice, contact, enrollment_id=6)
    assert cancel_queued_for_enrollment(5, NOW) == 2
    db.session.commit()
    assert [_reload(e).status for e in (queued, draft, other)] == ["cancelled", "cancelled", "queued"]


def test_mailbox_for_creates_one_per_user(app, alice):
    first = mailbox_for(alice)
    db.session.commit()
    assert mailbox_for(alice).id == first.id
    assert db.session.query(Mailbox).count() == 1
    assert first.from_address == alice.email
