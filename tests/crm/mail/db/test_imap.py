"""IMAP polling against real IMAP servers, each test run on both: pymap (pure Python, in-memory
"dict" backend) and Debian's Dovecot (``tests/imapservers.py``: its own config in a temporary
directory), started on free loopback ports. Messages are put in with a real IMAP APPEND (with
an explicit internal date); the poller reads them with imaplib as it would a rep's mailbox."""
from __future__ import annotations

import imaplib
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.mail.credentials import encrypt
from crm.mail.inbound.imap import poll_all
from crm.mail.models import ImapAccount, InboundMessage, MailboxCursor, mailbox_for
from tests.conftest import NOW
from tests.crm.mail.db.test_inbound import post, raw
from tests.imapservers import PASSWORD, STARTERS, USER


@pytest.fixture(scope="session", params=sorted(STARTERS))
def imap_server(request):
    """The port of a running IMAP server (the session's one pymap, the session's one Dovecot)."""
    server = STARTERS[request.param]()
    yield server.port
    server.stop()


@pytest.fixture
def folder(imap_server):
    """A fresh folder of the test user's mailbox (the server lives for the whole session)."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    client = imaplib.IMAP4("127.0.0.1", imap_server)
    client.login(USER, PASSWORD)
    assert client.create(name)[0] == "OK"
    yield client, name
    client.logout()


def connect_account(user, port: int, folders: list[str], password: str = PASSWORD, host: str = "127.0.0.1"):
    mailbox = mailbox_for(user)
    account = ImapAccount(mailbox_id=mailbox.id, host=host, port=port, security="none", username=USER,
                          password_encrypted=encrypt(password), folders=folders, created_at=NOW, updated_at=NOW)
    db.session.add(account)
    db.session.commit()
    return account


@pytest.fixture
def imap_mailbox(alice, imap_server, folder):
    mailbox = mailbox_for(alice)
    mailbox.aliases = ["alice.martin@acme-sales.com"]
    connect_account(alice, imap_server, [folder[1]])
    return mailbox


def append(folder, data: bytes, at: datetime = NOW) -> None:
    """IMAP APPEND with an explicit internal date (``at``): left out, the server stamps its own
    wall clock, and the first poll's SINCE search would depend on the day the tests run."""
    client, name = folder
    assert client.append(name, None, at, data)[0] == "OK"


def test_poll_processes_each_message_once_and_remembers_the_last_uid(client, folder, imap_mailbox, prospect):
    contact, enrollment, _ = prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    append(folder, raw("reply_gmail.eml"))
    append(folder, raw("own_sent_copy.eml"))  # the rep's own copy: never a reply
    append(folder, raw("newsletter.eml"))

    result = poll_all(NOW)

    assert result.fetched == 3 and not result.errors
    verdicts = db.session.scalars(select(InboundMessage.classification).order_by(InboundMessage.id)).all()
    assert verdicts == ["reply", "other", "other"]
    assert db.session.scalars(select(InboundMessage.source)).all() == ["imap"] * 3
    from crm.sequences.models import Enrollment

    assert db.session.get(Enrollment, enrollment.id, populate_existing=True).stop_reason == "replied"
    cursor = db.session.scalar(select(MailboxCursor))
    assert cursor.folder == folder[1] and cursor.last_uid > 0

    assert poll_all(NOW).fetched == 0  # nothing new
    append(folder, raw("ooo_italian.eml"))
    assert poll_all(NOW).fetched == 1
    assert db.session.query(InboundMessage).count() == 4
    assert db.session.query(Activity).filter(Activity.kind == "email_replied").count() == 1


def test_polling_leaves_messages_unread(folder, imap_mailbox):
    append(folder, raw("reply_gmail.eml"))
    poll_all(NOW)
    client, name = folder
    client.select(name, readonly=True)
    _status, data = client.fetch("1:*", "(FLAGS)")
    assert b"\\Seen" not in data[0]


def test_a_message_seen_by_webhook_and_imap_acts_once(client, folder, imap_mailbox, prospect):
    contact, enrollment, _ = prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    first = post(client, raw("reply_gmail.eml")).get_json()
    assert first["stopped"] == [enrollment.id]
    append(folder, raw("reply_gmail.eml"))
    result = poll_all(NOW)
    assert result.fetched == 1 and result.duplicates == 1
    assert db.session.query(InboundMessage).count() == 1
    assert db.session.query(Activity).filter(Activity.kind == "email_replied").count() == 1


def test_a_lost_cursor_or_new_uidvalidity_never_processes_twice(folder, imap_mailbox, prospect):
    prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    append(folder, raw("reply_gmail.eml"))
    append(folder, raw("ooo_italian.eml"))
    assert poll_all(NOW).fetched == 2
    cursor = db.session.scalar(select(MailboxCursor))
    cursor.uidvalidity += 1  # as if the server renumbered the folder
    db.session.commit()
    result = poll_all(NOW)
    assert result.fetched == 2 and result.duplicates == 2
    assert db.session.query(InboundMessage).count() == 2
    assert db.session.query(Activity).filter(Activity.kind == "email_replied").count() == 1


def test_a_wrong_password_is_recorded_and_other_mailboxes_still_poll(bob, folder, imap_server, imap_mailbox):
    account = db.session.scalar(select(ImapAccount).where(ImapAccount.mailbox_id == imap_mailbox.id))
    account.password_encrypted = encrypt("wrong")
    connect_account(bob, imap_server, [folder[1]])
    append(folder, raw("ooo_italian.eml"))

    result = poll_all(NOW)

    assert result.fetched == 1 and result.mailboxes == 1
    assert len(result.errors) == 1 and f"mailbox {imap_mailbox.id} " in result.errors[0]
    account = db.session.get(ImapAccount, account.id, populate_existing=True)
    assert account.status == "error" and account.last_polled_at == NOW and account.last_ok_at is None
    assert "AUTHENTICATIONFAILED" in account.last_error or "nvalid" in account.last_error  # the server's words


def test_a_backlog_of_out_of_office_notices_reads_each_from_its_own_date(clock, folder, imap_mailbox, prospect):
    """A mailbox connected months late: both notices were written on 25 November 2026. Céline
    stated her return (3 December 2026): she is back, the pause ends then, so the resume job
    lifts it at its next tick. Lars stated none: the default pause, from now."""
    from crm.sequences.models import Enrollment
    from crm.sequences.services import resume_due_pauses

    _, celine, _ = prospect("celine.dubois@chateau-margaux-logistique.fr", "<seq.8a2c5e1f9b04.1@mail.acme-sales.com>")
    _, lars, _ = prospect("lars.haugen@fjord-seafood.no", "<seq.a6e3f0c9b2d1.1@mail.acme-sales.com>")
    assert poll_all(NOW).fetched == 0  # the cursor is set; then the poller stops (a lapsed password...)
    arrived = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)
    append(folder, raw("ooo_french_zimbra.eml"), at=arrived)
    append(folder, raw("ooo_no_date.eml"), at=arrived)
    later = clock.freeze(datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc))  # ...and is mended months later

    assert poll_all(later).fetched == 2

    def state(enrollment):
        row = db.session.get(Enrollment, enrollment.id, populate_existing=True)
        return row.status, row.paused_until

    assert state(celine) == ("paused", datetime(2026, 12, 2, 23, 0, tzinfo=timezone.utc))  # 3 Dec, Berlin
    assert state(lars) == ("paused", later + timedelta(days=14))
    assert resume_due_pauses(later) == 1
    db.session.commit()
    assert state(celine) == ("active", None)
    assert state(lars) == ("paused", later + timedelta(days=14))
