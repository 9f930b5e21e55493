"""Database tests of the mail feature. The parent folder's conftest makes the classifier
tests pure (no app context); these need the suite's real one back."""
from __future__ import annotations

import imaplib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.contacts.models import Contact
from crm.extensions import db, limiter
from crm.mail.outbound.outbox import enqueue_email
from crm.sequences import library
from crm.sequences.services import enroll_contact
from tests.conftest import NOW, _empty_all_tables
from tests.imapservers import PASSWORD, STARTERS, USER


@pytest.fixture(autouse=True)
def _app_context(app):
    with app.app_context():
        yield
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()
    limiter.reset()


@pytest.fixture
def unlimited(app):
    """Mailbox limits off for new mailboxes (tests about limits set them explicitly)."""
    saved = app.config["MAIL_DAILY_CAP"], app.config["MAIL_MIN_GAP_SECONDS"]
    app.config.update(MAIL_DAILY_CAP=0, MAIL_MIN_GAP_SECONDS=0)
    yield
    app.config["MAIL_DAILY_CAP"], app.config["MAIL_MIN_GAP_SECONDS"] = saved


@pytest.fixture
def queue(unlimited):
    """queue(sender, contact, **fields) -> a committed queued OutboundEmail due at NOW."""
    from crm.mail.outbound.outbox import enqueue_email

    def make(sender, contact, **fields):
        values = {"subject": "Quick question", "text_body": "Hello there", "html_body": None,
                  "due_at": NOW, "to_address": contact.email if contact else "x@example-corp.com"}
        values.update(fields)
        email = enqueue_email(sender=sender, contact=contact, now=NOW - timedelta(minutes=1), **values)
        db.session.commit()
        return email

    return make


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
            sent = enqueue_email(sender=alice, contact=contact, to_address=email,
                                 subject="Quick question about your freight costs", text_body="Hi", html_body=None,
                                 due_at=NOW, now=NOW, enrollment_id=enrollment.id)
            sent.message_id, sent.status, sent.sent_at = message_id, "sent", NOW
        db.session.commit()
        return contact, enrollment, sent

    return make


# --- real IMAP servers (tests/imapservers.py) -----------------------------------------------------

@pytest.fixture(scope="session")
def _imap_servers():
    """Each kind of server started once for the session, when a test first needs it."""
    running: dict = {}

    def get(name: str) -> int:
        if name not in running:
            running[name] = STARTERS[name]()
        return running[name].port

    yield get
    for server in running.values():
        server.stop()


@pytest.fixture(params=sorted(STARTERS))
def imap_server(request, _imap_servers):
    """The port of a running IMAP server: each test that takes it runs on pymap and on Dovecot."""
    return _imap_servers(request.param)


@pytest.fixture
def dovecot(_imap_servers):
    """The port of the session's Dovecot (for tests that need one real server, not both)."""
    return _imap_servers("dovecot")


@pytest.fixture
def folder(imap_server):
    """A fresh folder of the test user's mailbox (the server lives for the whole session)."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    client = imaplib.IMAP4("127.0.0.1", imap_server)
    try:
        client.login(USER, PASSWORD)
        assert client.create(name)[0] == "OK"
        yield client, name
    finally:
        client.shutdown()  # not LOGOUT: a test may leave the connection broken
