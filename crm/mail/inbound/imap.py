"""IMAP polling of each rep's mailbox (``imaplib``), feeding ``process_inbound``.

UID-based: a cursor per (mailbox, folder) keeps the folder's UIDVALIDITY and the last UID
processed; a poll asks ``UID SEARCH UID <last+1>:*`` and fetches with ``BODY.PEEK[]`` (the
rep's unread flags stay as they were). The cursor moves after each message is committed, so
a crash re-reads at most the message being processed, and the inbound log (unique by
Message-ID) makes that re-read, or the same message also arriving by webhook, a no-op.

**The first poll of a folder** (new, or reset: its UIDVALIDITY changed, or the account now
points at another server or user) reads only what arrived in the last
``MAIL_IMAP_FIRST_POLL_DAYS``, and then moves the cursor to the folder's newest UID
(``UIDNEXT - 1``, from the SELECT), not to the last UID it processed: an old thread in a mailbox
connected today must never act, on this poll or any later one. The cursor row is written only
once that window is done, so a crash inside it repeats the window (the inbound log makes the
repeat a no-op) rather than falling back to the whole history.

**Time budget.** Mailboxes are polled concurrently by a bounded thread pool
(``MAIL_IMAP_CONCURRENCY``), each in its own app context and database session. Every socket
read waits at most ``MAIL_IMAP_TIMEOUT_SECONDS``, and a watchdog shuts the connection when the
mailbox has used ``MAIL_IMAP_MAILBOX_BUDGET_SECONDS`` in all (a server that trickles a byte
at a time defeats a per-read timeout). A server that accepts and never answers thus costs its
own mailbox one timeout and nobody else anything; what was committed before the cut stays.

One message that makes processing fail (a bug, not bad mail: bad mail is classified) is
rolled back, logged, reported and skipped, so it does not block the mailbox forever.

The rep's own messages (copies in Sent, or Bcc to self) are "ours" to the classifier and never
count as replies.
"""
from __future__ import annotations

import base64
import imaplib
import logging
import re
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select

from crm.extensions import db
from crm.mail.credentials import UnreadableCredentials, decrypt
from crm.mail.inbound.process import process_inbound
from crm.mail.models import ImapAccount, Mailbox, MailboxCursor

log = logging.getLogger(__name__)
MAX_FETCH_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ImapSettings:
    """What it takes to open one mailbox, the password in clear (never stored so)."""

    host: str
    port: int
    security: str
    username: str
    password: str
    folders: tuple[str, ...] = ("INBOX",)


@dataclass
class MailboxPoll:
    """One mailbox's poll: what it read, or why it failed."""

    mailbox_id: int
    label: str = ""
    fetched: int = 0
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"mailbox {self.mailbox_id} ({self.label}): FAILED: {self.error}"
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return f"mailbox {self.mailbox_id} ({self.label}): {self.fetched} read, {self.duplicates} already seen{skipped}"


@dataclass
class PollResult:
    mailboxes: int = 0
    fetched: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    polls: list[MailboxPoll] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fetched or self.errors)

    def add(self, poll: MailboxPoll) -> None:
        self.polls.append(poll)
        if poll.error:
            self.errors.append(poll.describe())
        else:
            self.mailboxes += 1
        self.errors.extend(f"mailbox {poll.mailbox_id} ({poll.label}): {note}" for note in poll.skipped)
        self.fetched += poll.fetched
        self.duplicates += poll.duplicates


@dataclass
class ConnectionReport:
    """What the server answered to a connection test."""

    ok: bool
    message: str
    folders: list[str] = field(default_factory=list)
    missing_folders: list[str] = field(default_factory=list)


class BudgetSpent(Exception):
    pass


# --- polling every mailbox ---------------------------------------------------------------------

def poll_all(now: datetime) -> PollResult:
    """Poll every mailbox that has an IMAP account, concurrently. One mailbox's failure (or
    silence) never stops or holds the others; each failure is recorded on its account."""
    total = PollResult()
    ids = db.session.scalars(select(ImapAccount.mailbox_id).order_by(ImapAccount.mailbox_id)).all()
    db.session.commit()
    if not ids:
        return total
    app = current_app._get_current_object()
    workers = max(1, min(int(app.config["MAIL_IMAP_CONCURRENCY"]), len(ids)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imap-poll") as pool:
        for poll in pool.map(lambda mailbox_id: _poll_in_own_context(app, mailbox_id, now), ids):
            total.add(poll)
    for poll in total.polls:
        if poll.error:
            log.warning("IMAP poll failed: %s", poll.describe())
    return total


def _poll_in_own_context(app: Flask, mailbox_id: int, now: datetime) -> MailboxPoll:
    with app.app_context():  # its own session: sessions are not shared across threads
        try:
            return poll_mailbox(mailbox_id, now)
        except Exception as exc:  # noqa: BLE001 - a bug in one mailbox's poll must not stop the others
            log.exception("IMAP poll of mailbox %s crashed", mailbox_id)
            db.session.rollback()
            return MailboxPoll(mailbox_id, error=f"internal error: {type(exc).__name__}: {exc}"[:500])
        finally:
            db.session.remove()


def poll_mailbox(mailbox_id: int, now: datetime) -> MailboxPoll:
    """Poll one mailbox within its time budget; record the outcome on its account. Commits."""
    poll = MailboxPoll(mailbox_id)
    account = _account(mailbox_id)
    if account is None:
        poll.error = "no IMAP account"
        return poll
    poll.label = f"{account.username}@{account.host}"
    status = "ok"
    try:
        settings = settings_of(account)
        db.session.commit()  # no transaction held open while waiting on the network
        with Watchdog(_budget()) as watchdog:
            client = connect(settings, watchdog)
            try:
                for folder in settings.folders:
                    _poll_folder(client, mailbox_id, folder, now, poll, watchdog)
            finally:
                _logout(client)
    except UnreadableCredentials as exc:
        status, poll.error = "unreadable_password", str(exc)
    except BudgetSpent as exc:
        status, poll.error = "error", str(exc)
    except (imaplib.IMAP4.error, OSError, ValueError) as exc:
        status, poll.error = "error", describe_error(exc, watchdog_of(exc))
    db.session.rollback()
    _record(mailbox_id, now, status, poll.error)
    return poll


def watchdog_of(exc: BaseException) -> Watchdog | None:
    return getattr(exc, "watchdog", None)


def _account(mailbox_id: int) -> ImapAccount | None:
    return db.session.scalar(select(ImapAccount).where(ImapAccount.mailbox_id == mailbox_id))


def settings_of(account: ImapAccount) -> ImapSettings:
    """The account's settings with its password decrypted.

    :raises UnreadableCredentials: when no configured key opens the stored password"""
    return ImapSettings(host=account.host, port=account.port, security=account.security, username=account.username,
                        password=decrypt(account.password_encrypted), folders=tuple(account.folders or ["INBOX"]))


def _record(mailbox_id: int, now: datetime, status: str, error: str | None) -> None:
    account = _account(mailbox_id)
    if account is None:  # disconnected meanwhile
        return
    account.status, account.last_error, account.last_polled_at = status, (error or None) and error[:500], now
    if status == "ok":
        account.last_ok_at = now
    db.session.commit()


def _budget() -> float:
    return float(current_app.config["MAIL_IMAP_MAILBOX_BUDGET_SECONDS"])


def _timeout() -> float:
    return float(current_app.config["MAIL_IMAP_TIMEOUT_SECONDS"])


# --- one folder ----------------------------------------------------------------------------------

def _poll_folder(client: imaplib.IMAP4, mailbox_id: int, folder: str, now: datetime, poll: MailboxPoll,
                 watchdog: Watchdog) -> None:
    status, data = client.select(quote_folder(folder), readonly=True)
    if status != "OK":
        raise ValueError(f"cannot open folder {folder!r}: {_text(data)}")
    uidvalidity = int(client.response("UIDVALIDITY")[1][0])
    newest_uid = _uidnext(client, folder) - 1
    cursor = db.session.scalar(select(MailboxCursor).where(
        MailboxCursor.mailbox_id == mailbox_id, MailboxCursor.folder == folder))
    db.session.commit()
    if cursor is None or cursor.uidvalidity != uidvalidity:
        _first_poll(client, mailbox_id, folder, uidvalidity, newest_uid, now, poll, watchdog)
        return
    status, data = client.uid("SEARCH", None, f"UID {cursor.last_uid + 1}:*")
    if status != "OK":
        raise ValueError(f"UID SEARCH failed in {folder!r}: {_text(data)}")
    # "n:*" always matches the newest message, even below n: keep only what is new.
    uids = _uids(data, above=cursor.last_uid)[: int(current_app.config["MAIL_IMAP_BATCH"])]
    cursor_id = cursor.id
    for uid in uids:
        if watchdog.nearly_spent(_timeout()):
            return  # the rest next poll: the cursor is where the last commit left it
        _process(client, mailbox_id, folder, uid, now, poll)
        db.session.get(MailboxCursor, cursor_id).last_uid = uid
        db.session.commit()


def _first_poll(client: imaplib.IMAP4, mailbox_id: int, folder: str, uidvalidity: int, newest_uid: int,
                now: datetime, poll: MailboxPoll, watchdog: Watchdog) -> None:
    """Read the window's messages (the newest ``MAIL_IMAP_BATCH`` of them), then put the cursor
    at the folder's newest UID as the SELECT saw it: nothing older than the window ever acts."""
    since = now - timedelta(days=int(current_app.config["MAIL_IMAP_FIRST_POLL_DAYS"]))
    status, data = client.uid("SEARCH", None, f"UID 1:{max(newest_uid, 1)} SINCE {imap_date(since)}")
    if status != "OK":
        raise ValueError(f"UID SEARCH failed in {folder!r}: {_text(data)}")
    uids = [uid for uid in _uids(data, above=0) if uid <= newest_uid][-int(current_app.config["MAIL_IMAP_BATCH"]):]
    for uid in uids:
        if watchdog.nearly_spent(_timeout()):
            raise BudgetSpent(f"the first poll of {folder!r} did not fit the time budget; it starts over next poll")
        _process(client, mailbox_id, folder, uid, now, poll)
        db.session.commit()
    cursor = db.session.scalar(select(MailboxCursor).where(
        MailboxCursor.mailbox_id == mailbox_id, MailboxCursor.folder == folder))
    if cursor is None:
        cursor = MailboxCursor(mailbox_id=mailbox_id, folder=folder)
        db.session.add(cursor)
    cursor.uidvalidity, cursor.last_uid = uidvalidity, max(newest_uid, 0)
    db.session.commit()


def _process(client: imaplib.IMAP4, mailbox_id: int, folder: str, uid: int, now: datetime,
             poll: MailboxPoll) -> None:
    raw = _fetch(client, uid)
    if raw is None:
        return
    try:
        outcome = process_inbound(raw, now, "imap", mailbox=db.session.get(Mailbox, mailbox_id))
        db.session.flush()
    except Exception as exc:  # noqa: BLE001 - one message's failure must not block the mailbox forever
        db.session.rollback()
        log.exception("IMAP message UID %s in %r of mailbox %s could not be processed", uid, folder, mailbox_id)
        poll.skipped.append(f"message UID {uid} in {folder!r} skipped: {type(exc).__name__}: {exc}"[:500])
        return
    poll.fetched += 1
    poll.duplicates += int(outcome.duplicate)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def imap_date(moment: datetime) -> str:
    """RFC 3501's date (``7-Dec-2026``), whatever the process's locale (``%b`` follows it)."""
    return f"{moment.day}-{MONTHS[moment.month - 1]}-{moment.year}"


def _uids(data: list, above: int) -> list[int]:
    return sorted({int(token) for token in (data[0] or b"").split() if int(token) > above})


def _uidnext(client: imaplib.IMAP4, folder: str) -> int:
    """UIDNEXT from the SELECT's answer, else from STATUS (RFC 3501 makes both available)."""
    value = client.response("UIDNEXT")[1][0]
    if value is None:
        status, data = client.status(quote_folder(folder), "(UIDNEXT)")
        match = re.search(rb"UIDNEXT (\d+)", data[0] or b"") if status == "OK" and data else None
        if match is None:
            raise ValueError(f"the server gave no UIDNEXT for {folder!r}")
        value = match.group(1)
    return int(value)


def _fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
    status, data = client.uid("FETCH", str(uid), f"(BODY.PEEK[]<0.{MAX_FETCH_BYTES}>)")
    if status != "OK":
        log.warning("IMAP FETCH of UID %s failed: %s", uid, data)
        return None
    for part in data or []:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None  # expunged meanwhile


# --- connecting ----------------------------------------------------------------------------------

class Watchdog:
    """Shuts the watched socket when the budget is spent, so whatever read is blocked on it
    fails at once (``shutdown`` from another thread wakes a blocked ``recv``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._started = time.monotonic()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        if exc_info[1] is not None and self.expired:
            exc_info[1].watchdog = self  # how describe_error tells a cut from a network error

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shutdown(sock)

    def nearly_spent(self, margin: float) -> bool:
        return time.monotonic() - self._started + margin >= self.seconds

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shutdown(self._sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _WatchedIMAP4(imaplib.IMAP4):
    def __init__(self, host: str, port: int, timeout: float, watchdog: Watchdog) -> None:
        self._watchdog = watchdog
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        sock = super()._create_socket(timeout)
        self._watchdog.watch(sock)
        return sock


class _WatchedIMAP4_SSL(imaplib.IMAP4_SSL):
    def __init__(self, host: str, port: int, timeout: float, watchdog: Watchdog) -> None:
        self._watchdog = watchdog
        super().__init__(host, port, ssl_context=ssl.create_default_context(), timeout=timeout)

    def _create_socket(self, timeout):
        sock = super()._create_socket(timeout)
        self._watchdog.watch(sock)
        return sock


def connect(settings: ImapSettings, watchdog: Watchdog) -> imaplib.IMAP4:
    """A logged-in client. Every read waits at most ``MAIL_IMAP_TIMEOUT_SECONDS``."""
    timeout = _timeout()
    client: imaplib.IMAP4
    try:
        if settings.security == "ssl":
            client = _WatchedIMAP4_SSL(settings.host, settings.port, timeout, watchdog)
        else:
            client = _WatchedIMAP4(settings.host, settings.port, timeout, watchdog)
    except imaplib.IMAP4.error:
        # Whatever else listens there (SSH, HTTP, a database) said something; it is not echoed
        # back, so the connection test is no way to read other services' banners.
        raise ValueError("the server did not greet as an IMAP server") from None
    try:
        if settings.security == "starttls":
            client.starttls(ssl_context=ssl.create_default_context())
            watchdog.watch(client.sock)  # the TLS socket replaced the plain one
        client.login(settings.username, settings.password)
    except BaseException:
        client.shutdown()  # a refused login must not leak the socket
        raise
    return client


def _logout(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def try_connection(settings: ImapSettings) -> ConnectionReport:
    """Log in, list the folders, check the chosen ones exist: the server's own answer either way.
    Bounded like a poll (socket timeout and time budget). Touches no database."""
    try:
        with Watchdog(min(_budget(), 2 * _timeout())) as watchdog:
            client = connect(settings, watchdog)
            try:
                folders = list_folders(client)
            finally:
                _logout(client)
    except (imaplib.IMAP4.error, OSError, ValueError) as exc:
        return ConnectionReport(False, describe_error(exc, watchdog_of(exc)))
    missing = [name for name in settings.folders if name not in folders and name.upper() != "INBOX"]
    greeting = f"Logged in to {settings.host}:{settings.port} as {settings.username}; {len(folders)} folders."
    if missing:
        return ConnectionReport(False, greeting + " Folders not found: " + ", ".join(missing) + ".", folders, missing)
    return ConnectionReport(True, greeting, folders)


_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')


def list_folders(client: imaplib.IMAP4) -> list[str]:
    """The folder names, decoded from modified UTF-7, without the unselectable ones."""
    status, data = client.list()
    if status != "OK":
        raise ValueError(f"LIST failed: {_text(data)}")
    names = []
    for item in data or []:
        line, literal = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
        match = _LIST_LINE.match(line or b"")
        if match is None or b"\\noselect" in match.group("flags").lower():
            continue
        raw = literal if literal is not None else match.group("name")
        if raw.startswith(b'"') and raw.endswith(b'"'):
            raw = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
        names.append(decode_folder(raw.decode("ascii", "replace")))
    return sorted(names, key=lambda name: (name.upper() != "INBOX", name.lower()))


def describe_error(exc: BaseException, watchdog: Watchdog | None = None) -> str:
    """The server's answer, or what the network said, in a sentence a rep can act on."""
    if watchdog is not None and watchdog.expired:
        return f"no complete answer within the time budget ({watchdog.seconds:g} s); the connection was cut"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "the server did not answer in time (timeout)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"unknown host: {exc.strerror or exc}"
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"
    text = str(exc)
    if isinstance(exc, imaplib.IMAP4.error):
        text = re.sub(r"^b'(.*)'$", r"\1", text)
        return f"the server said: {text}"
    return text


def _text(data) -> str:
    parts = [part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part) for part in data or []]
    return " ".join(parts)


# --- folder names ----------------------------------------------------------------------------------

def quote_folder(folder: str) -> str:
    """A folder name as an IMAP quoted string, in modified UTF-7 (RFC 3501 5.1.3)."""
    encoded = encode_folder(folder)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_folder(name: str) -> str:
    out, pending = [], []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + _b64(data).replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_folder(name: str) -> str:
    def decode(match: re.Match) -> str:
        chunk = match.group(1)
        if not chunk:
            return "&"
        padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
        try:
            return _unb64(padded).decode("utf-16-be")
        except ValueError:
            return match.group(0)

    return re.sub(r"&([A-Za-z0-9+,]*)-", decode, name)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
