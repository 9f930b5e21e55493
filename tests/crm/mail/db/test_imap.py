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
from tests.imapservers import PASSWORD, USER
from tests.mailsink import free_port


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


# --- the first poll's window holds on every later poll ----------------------------------------------

def test_an_old_reply_never_acts_on_the_first_poll_or_any_later_one(folder, imap_mailbox, prospect):
    """A reply that arrived 7 days ago (window: MAIL_IMAP_FIRST_POLL_DAYS = 2) is history: the
    first poll skips it, and the cursor stands at the folder's newest UID, so the second poll
    does not read it from UID 1 either. A reply arriving afterwards acts."""
    from crm.sequences.models import Enrollment

    _, enrollment, _ = prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    append(folder, raw("reply_gmail.eml"), at=NOW - timedelta(days=7))

    assert poll_all(NOW).fetched == 0
    cursor = db.session.scalar(select(MailboxCursor))
    assert cursor.last_uid >= 1  # UIDNEXT - 1, not the last UID processed (none)
    assert poll_all(NOW + timedelta(minutes=1)).fetched == 0
    assert db.session.get(Enrollment, enrollment.id, populate_existing=True).status == "active"

    append(folder, raw("reply_gmail.eml", **{"<CAPq7+Lk3sXm0yT9": "<today-CAPq7+Lk3sXm0yT9"}), at=NOW)
    assert poll_all(NOW + timedelta(minutes=2)).fetched == 1
    assert db.session.get(Enrollment, enrollment.id, populate_existing=True).stop_reason == "replied"


def test_the_first_poll_reads_the_window_and_then_only_what_is_new(folder, imap_mailbox, prospect):
    prospect("bob.keller@globex-industries.com", "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    append(folder, raw("newsletter.eml"), at=NOW - timedelta(days=30))
    append(folder, raw("reply_gmail.eml"), at=NOW - timedelta(hours=3))
    append(folder, raw("ooo_italian.eml"), at=NOW - timedelta(days=9))  # old, though its UID is the newest

    first = poll_all(NOW)
    assert first.fetched == 1 and not first.errors
    assert db.session.scalars(select(InboundMessage.classification)).all() == ["reply"]
    assert poll_all(NOW).fetched == 0


def test_pointing_the_account_at_another_mailbox_starts_over_with_a_first_poll(folder, imap_mailbox, alice):
    from crm.mail.imap_accounts import save_imap_account

    append(folder, raw("newsletter.eml"), at=NOW - timedelta(days=30))
    poll_all(NOW)
    assert db.session.scalar(select(MailboxCursor)) is not None
    account = db.session.scalar(select(ImapAccount))
    settings = {"host": "localhost", "port": account.port, "security": "none", "username": USER,
                "folders": account.folders}
    save_imap_account(alice, settings, NOW)  # same user, another host name: another mailbox to us
    db.session.commit()
    assert db.session.scalar(select(MailboxCursor)) is None
    assert poll_all(NOW).fetched == 0  # the old newsletter is still outside the window
    assert db.session.scalar(select(ImapAccount)).status == "ok"


# --- time budget: one hung server holds nobody else ------------------------------------------------------

@pytest.fixture
def short_timeouts(app):
    saved = {key: app.config[key] for key in
             ("MAIL_IMAP_TIMEOUT_SECONDS", "MAIL_IMAP_MAILBOX_BUDGET_SECONDS", "MAIL_IMAP_CONCURRENCY")}
    # 2 s: long enough for a loaded test machine's real servers, short for the hung one
    app.config.update(MAIL_IMAP_TIMEOUT_SECONDS=2, MAIL_IMAP_MAILBOX_BUDGET_SECONDS=30)
    yield app.config
    app.config.update(saved)


@pytest.fixture
def silent_server():
    from tests.imapservers import SilentServer

    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def finishing_order(monkeypatch):
    """The mailbox ids in the order their polls finished."""
    from crm.mail.inbound import imap

    order: list[int] = []
    original = imap.poll_mailbox

    def recorded(mailbox_id, now):
        outcome = original(mailbox_id, now)
        order.append(mailbox_id)
        return outcome

    monkeypatch.setattr(imap, "poll_mailbox", recorded)
    return order


def test_a_server_that_never_answers_does_not_hold_the_other_mailboxes(
        app, alice, bob, folder, imap_server, silent_server, monkeypatch):
    """The hung server holds its connection until the good mailbox's poll has finished, then
    hangs up. Polled one after another (the hung one first), the good poll would never finish
    while the hung one waits: only the socket timeout (30 s here) would end it, and the good one
    would come second."""
    from crm.mail.inbound import imap

    monkeypatch.setitem(app.config, "MAIL_IMAP_TIMEOUT_SECONDS", 30)
    hung = connect_account(alice, silent_server.port, ["INBOX"])  # polled first if one after another
    good = connect_account(bob, imap_server, [folder[1]])
    append(folder, raw("ooo_italian.eml"))
    order: list[int] = []
    original = imap.poll_mailbox

    def poll_then_release(mailbox_id, now):
        outcome = original(mailbox_id, now)
        order.append(mailbox_id)
        if mailbox_id == good.mailbox_id:
            silent_server.hang_up()
        return outcome

    monkeypatch.setattr(imap, "poll_mailbox", poll_then_release)

    result = poll_all(NOW)

    assert order == [good.mailbox_id, hung.mailbox_id]
    assert result.fetched == 1 and result.mailboxes == 1
    assert len(result.errors) == 1 and result.errors[0].startswith(f"mailbox {hung.mailbox_id} ({USER}@127.0.0.1)")
    assert db.session.get(ImapAccount, hung.id, populate_existing=True).status == "error"
    assert db.session.get(ImapAccount, good.id, populate_existing=True).status == "ok"


def test_a_server_that_never_answers_times_out(alice, short_timeouts, silent_server):
    hung = connect_account(alice, silent_server.port, ["INBOX"])
    result = poll_all(NOW)
    assert result.errors == [f"mailbox {hung.mailbox_id} ({USER}@127.0.0.1): FAILED: "
                             "the server did not answer in time (timeout)"]


def test_the_pool_is_bounded(alice, bob, dovecot, short_timeouts, silent_server, finishing_order):
    """MAIL_IMAP_CONCURRENCY = 1: one mailbox at a time, in order, so the hung one goes first."""
    short_timeouts["MAIL_IMAP_CONCURRENCY"] = 1
    hung = connect_account(alice, silent_server.port, ["INBOX"])
    good = connect_account(bob, dovecot, ["INBOX"])
    poll_all(NOW)
    assert finishing_order == [hung.mailbox_id, good.mailbox_id]


def test_a_server_that_trickles_is_cut_at_the_mailbox_budget(alice, short_timeouts):
    """Each read gets a byte before the 2 s socket timeout; only the budget ends the poll."""
    from tests.imapservers import TrickleServer

    short_timeouts["MAIL_IMAP_MAILBOX_BUDGET_SECONDS"] = 1.5
    server = TrickleServer(gap=0.05)
    try:
        account = connect_account(alice, server.port, ["INBOX"])
        result = poll_all(NOW)
    finally:
        server.close()
    assert len(result.errors) == 1 and "time budget (1.5 s)" in result.errors[0]
    assert "time budget" in db.session.get(ImapAccount, account.id, populate_existing=True).last_error


# --- credentials no key opens ------------------------------------------------------------------------------

def test_an_unreadable_password_marks_the_account_and_polls_the_others(bob, folder, imap_server, imap_mailbox):
    from cryptography.fernet import Fernet

    account = db.session.scalar(select(ImapAccount).where(ImapAccount.mailbox_id == imap_mailbox.id))
    account.password_encrypted = Fernet(Fernet.generate_key()).encrypt(b"x").decode()  # a key we do not have
    other = connect_account(bob, imap_server, [folder[1]])
    db.session.commit()

    result = poll_all(NOW)

    account = db.session.get(ImapAccount, account.id, populate_existing=True)
    assert account.status == "unreadable_password" and "enter it again" in account.last_error
    assert db.session.get(ImapAccount, other.id, populate_existing=True).status == "ok"
    assert len(result.errors) == 1 and result.mailboxes == 1


# --- crm mail poll --------------------------------------------------------------------------------------------

def test_crm_mail_poll_exits_non_zero_and_names_the_failing_mailbox(app, alice, bob, dovecot, short_timeouts,
                                                                     silent_server):
    client = imaplib.IMAP4("127.0.0.1", dovecot)
    client.login(USER, PASSWORD)
    name = f"cli-{uuid.uuid4().hex[:8]}"
    client.create(name)
    folder = (client, name)
    good = connect_account(bob, dovecot, [name])
    append(folder, raw("ooo_italian.eml"))
    runner = app.test_cli_runner()

    fine = runner.invoke(args=["crm", "mail", "poll"])
    assert fine.exit_code == 0, fine.output
    assert f"mailbox {good.mailbox_id} ({USER}@127.0.0.1): 1 read" in fine.output

    hung = connect_account(alice, silent_server.port, ["INBOX"])
    failed = runner.invoke(args=["crm", "mail", "poll"])
    assert failed.exit_code == 1
    assert f"mailbox {hung.mailbox_id} ({USER}@127.0.0.1): FAILED: the server did not answer in time" in failed.output
    assert "2 mailboxes, 0 messages read, 1 problem" in failed.output
    client.logout()


# --- test connection -------------------------------------------------------------------------------------------

def test_a_connection_test_shows_the_servers_answer(folder, imap_server):
    from crm.mail.inbound.imap import ImapSettings, try_connection

    good = try_connection(ImapSettings("127.0.0.1", imap_server, "none", USER, PASSWORD, ("INBOX", folder[1])))
    assert good.ok and good.message.startswith(f"Logged in to 127.0.0.1:{imap_server} as {USER}")
    assert good.folders[0] == "INBOX" and folder[1] in good.folders

    missing = try_connection(ImapSettings("127.0.0.1", imap_server, "none", USER, PASSWORD, ("Archive-nope",)))
    assert not missing.ok and missing.missing_folders == ["Archive-nope"]

    refused = try_connection(ImapSettings("127.0.0.1", imap_server, "none", USER, "wrong", ("INBOX",)))
    assert not refused.ok and refused.message.startswith("the server said: ")

    no_tls_there = try_connection(ImapSettings("127.0.0.1", imap_server, "ssl", USER, PASSWORD))
    assert not no_tls_there.ok and no_tls_there.message.startswith("TLS failed: ")
    no_starttls = try_connection(ImapSettings("127.0.0.1", imap_server, "starttls", USER, PASSWORD))
    assert not no_starttls.ok and "TLS not supported" in no_starttls.message  # no STARTTLS offered

    closed = try_connection(ImapSettings("127.0.0.1", free_port(), "none", USER, PASSWORD))
    assert not closed.ok and closed.message.startswith("cannot connect: ")


def test_a_connection_test_never_echoes_another_services_greeting():
    """Pointed at something that is not IMAP (here a fake SSH server), the answer says only that."""
    import socket
    import threading

    from crm.mail.inbound.imap import ImapSettings, try_connection

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def banner():
        conn, _ = listener.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 secret-banner\r\n")
        conn.recv(100)
        conn.close()

    threading.Thread(target=banner, daemon=True).start()
    try:
        report = try_connection(ImapSettings("127.0.0.1", listener.getsockname()[1], "none", USER, PASSWORD))
    finally:
        listener.close()
    assert not report.ok and report.message == "the server did not greet as an IMAP server"


def test_folders_with_accents_are_named_in_modified_utf7(alice, imap_server, folder):
    """"Éléments envoyés" is ``&AMk-l&AOk-ments envoy&AOk-s`` on the wire (RFC 3501 5.1.3)."""
    from crm.mail.inbound.imap import ImapSettings, decode_folder, encode_folder, quote_folder, try_connection

    name = f"Éléments envoyés {folder[1]}"
    assert encode_folder("Éléments envoyés") == "&AMk-l&AOk-ments envoy&AOk-s"
    assert decode_folder(encode_folder(name)) == name and encode_folder("R&D") == "R&-D"
    client, _ = folder
    assert client.create(quote_folder(name))[0] == "OK"
    assert client.append(quote_folder(name), None, NOW, raw("ooo_italian.eml"))[0] == "OK"
    connect_account(alice, imap_server, [name])

    assert name in try_connection(ImapSettings("127.0.0.1", imap_server, "none", USER, PASSWORD, (name,))).folders
    result = poll_all(NOW)
    assert result.fetched == 1 and not result.errors
