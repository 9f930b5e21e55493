"""The send tick's fast path: the hand-written mark-sent statements, the prebuilt batch, the
wire policy's header shortcut and chosen MIME boundary, and the ``MAIL_ASYNC_COMMIT`` knob."""
from __future__ import annotations

from email import message_from_bytes
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32

import pytest
from sqlalchemy import event, select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.mail.models import OutboundEmail, mailbox_for
from crm.mail.outbound.compose import UTF8_QP, WIRE_POLICY, build_message, to_wire
from crm.mail.outbound.sender import send_due
from crm.tracking.models import TrackingLink
from tests.conftest import NOW


def _reload(email):
    return db.session.get(OutboundEmail, email.id, populate_existing=True)


@pytest.fixture
def statements(app):
    """Every SQL statement the engine runs while the test does."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_mark_sent_changes_only_the_outcome_columns_and_writes_one_activity(
        app, smtp_sink, queue, alice, make_contact, make_company):
    company = make_company(name="Globex", domain="globex-industries.com")
    contact = make_contact(email="dana@globex-industries.com", company_id=company.id)
    email = queue(alice, contact, html_body="<p>Hi <a href=\"https://example.org/a\">a</a></p>")
    before = {c.key: getattr(email, c.key) for c in OutboundEmail.__table__.columns}

    assert send_due(NOW).sent == 1

    smtp_sink.wait_for(1)
    after = {c.key: getattr(_reload(email), c.key) for c in OutboundEmail.__table__.columns}
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {"status", "sent_at", "attempts", "claimed_at", "claimed_by"}
    assert (after["status"], after["sent_at"], after["attempts"], after["last_error"]) == ("sent", NOW, 1, None)
    [activity] = db.session.scalars(select(Activity).where(Activity.kind == "email_sent")).all()
    assert (activity.contact_id, activity.company_id, activity.user_id) == (contact.id, company.id, alice.id)
    assert activity.occurred_at == NOW and activity.created_at is not None
    assert activity.details == {"outbound_email_id": email.id, "subject": "Quick question",
                                "message_id": email.message_id, "to": "dana@globex-industries.com",
                                "kind": "sequence", "enrollment_id": None, "step_id": None}


def test_tracking_links_of_a_sent_message_are_stored(app, smtp_sink, queue, alice, make_contact):
    """The batch is built before sending: the links each sent message carries must exist."""
    emails = [queue(alice, make_contact(), html_body='<p><a href="https://example.org/x">x</a></p>')
              for _ in range(3)]
    assert send_due(NOW).sent == 3
    for received in smtp_sink.wait_for(3):
        html = received.message.get_body(("html",)).get_content()
        token = html.split("/t/c/")[1].split('"')[0]
        link = db.session.scalar(select(TrackingLink).where(TrackingLink.token == token))
        assert link is not None and link.url == "https://example.org/x"
        assert link.outbound_email_id in {e.id for e in emails}


def test_per_message_commit_holds_no_orm_reload(app, smtp_sink, queue, alice, make_contact, statements):
    """Sending N messages costs a fixed number of statements plus a constant few per message
    (no per-message SELECT of the row, the contact or the mailbox)."""
    for _ in range(6):
        queue(alice, make_contact(), html_body="<p>hi</p>")
    statements.clear()
    assert send_due(NOW).sent == 6
    selects_of_rows = [s for s in statements if s.lstrip().upper().startswith("SELECT")
                       and "FROM outbound_emails" in s and "outbound_emails.id =" in s]
    assert selects_of_rows == []
    marks = [s for s in statements if "UPDATE outbound_emails SET status" in s and "sent_at" in s]
    assert len(marks) == 6


@pytest.mark.parametrize("async_commit", [False, True])
def test_async_commit_knob_only_touches_the_mark_on_postgresql(
        app, smtp_sink, queue, alice, make_contact, statements, async_commit):
    app.config["MAIL_ASYNC_COMMIT"] = async_commit
    try:
        emails = [queue(alice, make_contact()) for _ in range(3)]
        statements.clear()
        assert send_due(NOW).sent == 3
    finally:
        app.config["MAIL_ASYNC_COMMIT"] = False
    assert len(smtp_sink.wait_for(3)) == 3
    assert {_reload(e).status for e in emails} == {"sent"}
    switches = [s for s in statements if "synchronous_commit" in s]
    postgres = db.engine.dialect.name == "postgresql"
    assert switches == (["SET LOCAL synchronous_commit = off"] * 3 if async_commit and postgres else [])


# --- the wire form ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("Subject", "Quick question"),
    ("Message-ID", "<0123456789abcdef0123456789abcdef@acme-sales.com>"),
    ("Date", "Wed, 25 Nov 2026 13:00:00 +0000"),
    ("X-Exactly-78", "y" * (78 - len("X-Exactly-78: "))),
])
def test_wire_policy_writes_short_ascii_headers_as_compat32_would(name, value):
    expected = compat32.clone(linesep="\r\n").fold_binary(name, value)
    assert WIRE_POLICY.fold_binary(name, value) == expected


@pytest.mark.parametrize("value", [
    "z" * 200,                                    # folded
    "Réunion de suivi",                           # encoded
    Header("Grüße aus München", "utf-8"),         # a Header object
    " leading space",
])
def test_wire_policy_leaves_other_headers_to_compat32(value):
    expected = compat32.clone(linesep="\r\n").fold_binary("Subject", value)
    assert WIRE_POLICY.fold_binary("Subject", value) == expected


def test_boundary_cannot_collide_with_a_quoted_printable_body(app, queue, alice, make_contact):
    contact = make_contact()
    mailbox = mailbox_for(alice)
    mailbox.display_name = "Alice Müller"
    db.session.commit()
    tricky = "--=_0123\n--=_0123--\n=_ line\n"
    email = queue(alice, contact, subject="Grüße, a long subject " + "x" * 90, text_body=tricky,
                  html_body=f"<html><body><pre>{tricky}</pre></body></html>")
    message = build_message(email, mailbox, NOW)
    boundary = message.get_boundary()
    assert boundary.startswith("=_")
    wire = to_wire(message)
    assert wire.count(f"--{boundary}".encode()) == 3  # two parts and the closing delimiter
    parsed = message_from_bytes(wire)
    text, html = parsed.get_payload()
    assert text.get_payload(decode=True).decode().replace("\r\n", "\n").startswith(tricky)
    assert tricky in html.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert str(Header(parsed["Subject"])).startswith("=?utf-8?")  # encoded, not raw 8-bit
    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    assert b"\n" not in wire.replace(b"\r\n", b"")


def test_quoted_printable_never_writes_equals_underscore():
    body = MIMEText("a=_b ==_ =\n" * 50 + "é" * 100, "plain", UTF8_QP).get_payload()
    assert "=_" not in body
