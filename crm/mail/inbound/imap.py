"""IMAP polling of each rep's mailbox (``imaplib``), feeding ``process_inbound``.

UID-based: a cursor per (mailbox, folder) keeps the folder's UIDVALIDITY and the last UID
processed; a poll asks ``UID SEARCH UID <last+1>:*`` and fetches with ``BODY.PEEK[]`` (the
rep's unread flags stay as they were). The cursor moves after each message is committed, so
a crash re-reads at most the message being processed, and the inbound log (unique by
Message-ID) makes that re-read, or the same message also arriving by webhook, a no-op.

A folder seen for the first time, or whose UIDVALIDITY changed (the server renumbered it),
is read from ``MAIL_IMAP_FIRST_POLL_DAYS`` ago, not from the beginning of time: an old
thread in a mailbox connected today must not stop today's sequences. The rep's own messages
(copies in Sent, or Bcc to self) are "ours" to the classifier and never count as replies.
"""
from __future__ import annotations

import imaplib
import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from crm.extensions import db
from crm.mail.inbound.process import process_inbound
from crm.mail.models import Mailbox, MailboxCursor

log = logging.getLogger(__name__)
MAX_FETCH_BYTES = 10 * 1024 * 1024


@dataclass
class PollResult:
    mailboxes: int = 0
    fetched: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fetched or self.errors)


def poll_all(now: datetime) -> PollResult:
    """Poll every mailbox that has IMAP settings. One mailbox's failure never stops the others."""
    total = PollResult()
    ids = db.session.scalars(select(Mailbox.id).where(Mailbox.imap_host.is_not(None))).all()
    db.session.commit()
    for mailbox_id in ids:
        mailbox = db.session.get(Mailbox, mailbox_id)
        try:
            result = poll_mailbox(mailbox, now)
        except (imaplib.IMAP4.error, OSError, ValueError) as exc:
            db.session.rollback()
            message = f"mailbox {mailbox_id}: {type(exc).__name__}: {exc}"[:500]
            log.warning("IMAP poll failed: %s", message)
            mailbox = db.session.get(Mailbox, mailbox_id)
            mailbox.imap_last_error = message
            db.session.commit()
            total.errors.append(message)
            continue
        total.mailboxes += 1
        total.fetched += result.fetched
        total.duplicates += result.duplicates
    return total


def connect(mailbox: Mailbox) -> imaplib.IMAP4:
    timeout = float(current_app.config.get("SMTP_TIMEOUT", 30))
    security = (mailbox.imap_security or "ssl").lower()
    port = mailbox.imap_port or (993 if security == "ssl" else 143)
    if security == "ssl":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(mailbox.imap_host, port, ssl_context=ssl.create_default_context(),
                                                  timeout=timeout)
    else:
        client = imaplib.IMAP4(mailbox.imap_host, port, timeout=timeout)
        if security == "starttls":
            client.starttls(ssl_context=ssl.create_default_context())
    try:
        client.login(mailbox.imap_username or mailbox.from_address, mailbox.imap_password or "")
    except BaseException:
        client.shutdown()  # a refused login must not leak the socket
        raise
    return client


def poll_mailbox(mailbox: Mailbox, now: datetime) -> PollResult:
    result = PollResult()
    mailbox_id = mailbox.id
    folders = list(mailbox.imap_folders or ["INBOX"])
    client = connect(mailbox)
    try:
        for folder in folders:
            _poll_folder(client, mailbox_id, folder, now, result)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    mailbox = db.session.get(Mailbox, mailbox_id)
    mailbox.imap_last_error = None
    db.session.commit()
    return result


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _poll_folder(client: imaplib.IMAP4, mailbox_id: int, folder: str, now: datetime, result: PollResult) -> None:
    status, _ = client.select(_quote(folder), readonly=True)
    if status != "OK":
        raise ValueError(f"cannot open folder {folder!r}")
    uidvalidity = int(client.response("UIDVALIDITY")[1][0])
    cursor = db.session.scalar(select(MailboxCursor).where(
        MailboxCursor.mailbox_id == mailbox_id, MailboxCursor.folder == folder))
    if cursor is None or cursor.uidvalidity != uidvalidity:
        if cursor is None:
            cursor = MailboxCursor(mailbox_id=mailbox_id, folder=folder)
            db.session.add(cursor)
        cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
        db.session.commit()
        since = now - timedelta(days=int(current_app.config["MAIL_IMAP_FIRST_POLL_DAYS"]))
        criteria = f"UID 1:* SINCE {since.strftime('%d-%b-%Y')}"
    else:
        criteria = f"UID {cursor.last_uid + 1}:*"
    status, data = client.uid("SEARCH", None, criteria)
    if status != "OK":
        raise ValueError(f"UID SEARCH failed in {folder!r}")
    last_uid = cursor.last_uid
    # "n:*" always matches the newest message, even below n: keep only what is new.
    uids = sorted({int(token) for token in (data[0] or b"").split() if int(token) > last_uid})
    cursor_id = cursor.id
    for uid in uids[: int(current_app.config["MAIL_IMAP_BATCH"])]:
        raw = _fetch(client, uid)
        if raw is not None:
            mailbox = db.session.get(Mailbox, mailbox_id)
            outcome = process_inbound(raw, now, "imap", mailbox=mailbox)
            result.fetched += 1
            result.duplicates += int(outcome.duplicate)
        cursor = db.session.get(MailboxCursor, cursor_id)
        cursor.last_uid = uid
        db.session.commit()


def _fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
    status, data = client.uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{MAX_FETCH_BYTES}>)")
    if status != "OK":
        log.warning("IMAP FETCH of UID %s failed: %s", uid, data)
        return None
    for part in data or []:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None  # expunged meanwhile
