"""The send tick: claim due outbox rows, send them over SMTP, record what happened.

How a message leaves, exactly once
----------------------------------
1. **Reclaim.** A row left in ``sending`` longer than ``MAIL_CLAIM_TIMEOUT_SECONDS`` belongs
   to a worker that died (a live worker refreshes ``claimed_at`` of its batch every third of
   that timeout): it goes back to ``queued``.
2. **Claim**, one short transaction per mailbox: the mailbox row is locked
   (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never count the same
   mailbox's limits at once; a locked mailbox is skipped this tick), the limits are applied,
   and up to ``MAIL_SEND_BATCH`` due rows are switched to ``sending`` with this tick's
   ``claimed_by`` token (``FOR UPDATE SKIP LOCKED`` again, plus ``status = 'queued'`` in the
   UPDATE, which is all SQLite needs: it has a single writer). Committed before any SMTP.
3. **Send** over one SMTP connection per mailbox per tick. Each accepted message gets its
   ``sent`` mark committed on its own: one UPDATE by primary key in autocommit, on a
   connection of its own (``marks.Marks``); on PostgreSQL it is sent without waiting and its
   commit overlaps the next message's SMTP envelope; the next message's content and final
   ``.`` (the moment the server accepts it) wait until that mark is committed. A permanent
   refusal (5xx) commits ``failed``; a transient one (4xx, lost connection) puts the row back
   to ``queued`` with a backoff.
4. **Record**, once per batch: the side effects of the sent messages (the ``email_sent``
   activity, the ``emails_sent`` signal that moves enrollments on, the mailbox's last send) in one
   transaction that also sets ``recorded_at``. Only rows with ``recorded_at IS NULL`` are
   taken (``UPDATE ... RETURNING``), so each message is recorded once even when two workers
   try; the start of every tick records whatever a crashed worker marked but did not record.
   Nothing is lost between 3 and 4: the mark is durable, the record is derived from it.

The one window. Between the SMTP server accepting a message and its mark's commit, a crash
(SIGKILL, power loss) leaves a row in ``sending`` although the message left. Step 1 will
send it again after the timeout. Nothing on our side can close this window: SMTP has no
two-phase commit. It is kept to **at most one duplicate per crashed worker**: a worker never
sends message N+1's content and final ``.`` (what makes the server accept it) before message
N's mark is committed, so at any moment at most one accepted message is unmarked; if that
commit fails, the connection is dropped inside N+1's ``DATA`` and the server discards N+1
(RFC 5321, 4.1.1.4). The
resend carries the **same Message-ID**, which mail clients and Gmail use to collapse
duplicates. Rows claimed but not yet sent are simply sent by the next worker, never lost.

Durability of that commit. The window above holds against a crashed *worker*: the mark is
committed before the next message is accepted. Against a crashed *database* it holds when the
commit is durable, which is the default: PostgreSQL waits for the WAL flush of every mark.
``MAIL_ASYNC_COMMIT=1`` (PostgreSQL only) writes the marks with ``synchronous_commit = off``:
still safe when the worker is killed, but a crash of the database server can lose the marks
of the last ~0.6 s (3 × ``wal_writer_delay``), and those messages are sent again after the
claim timeout: up to that many duplicates instead of one. Off by default because a rep must
be able to trust that a prospect is emailed once. SQLite runs WAL with
``synchronous=NORMAL`` (crm/extensions.py): safe against any process crash, but a power loss
or OS crash of the host can undo the last commits, with the same effect.

Cost per message, kept small so the tick keeps up with a plain ``smtplib`` loop: the whole
claimed batch is tracked up front (tracking's link rows of the batch inserted and committed
at once, before the first message leaves); each message is finished (``compose.build_wire``)
while the SMTP server digests the one before it; the loop only sends and marks; everything
else a send causes is written per batch (step 4).

Limits, per mailbox: a rolling 24-hour cap (``daily_cap``; sent plus in-flight messages
count) and a minimum gap between two sends (``min_gap_seconds``; then at most one message per
tick). A message over a limit stays ``queued`` with ``due_at`` pushed to when it may go; it
never fails. A limit of 0 or less is off.
"""
from __future__ import annotations

import logging
import os
import smtplib
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Callable

from flask import current_app
from sqlalchemy import String, func, insert, literal, or_, select, update
from sqlalchemy.exc import OperationalError

from crm.auth.models import User
from crm.contacts.models import Activity, Contact
from crm.contacts.services import record_activity
from crm.extensions import db
from crm.jsontype import json_object
from crm.mail import transport
from crm.mail.models import Mailbox, OutboundEmail, mailbox_for
from crm.mail.outbound.compose import build_wire, reader_languages, tracked_html
from crm.mail.outbound.marks import MarkFailed, Marks  # noqa: F401  (MarkFailed: raised through send_due)
from crm.signals import email_failed, emails_sent
from crm.timeutil import UTCDateTime, utcnow
from crm.tracking.services import insert_links

log = logging.getLogger(__name__)
DAY = timedelta(hours=24)
_OUTBOX = OutboundEmail.__table__


@dataclass
class TickResult:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    reclaimed: int = 0
    errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.failed or self.retried or self.deferred or self.reclaimed)

    def add(self, other: "TickResult") -> None:
        for name in ("sent", "failed", "retried", "deferred", "reclaimed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


class ClaimLost(Exception):
    """Our rows were reclaimed by another worker (we were too slow): stop this batch."""


def worker_token() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def send_due(now: datetime, *, batch: int | None = None) -> TickResult:
    """One tick: reclaim stale claims, then claim and send every mailbox's due messages (one
    batch per mailbox). Commits as it goes (see the module docstring)."""
    config = current_app.config
    batch = batch or int(config["MAIL_SEND_BATCH"])
    result = TickResult(reclaimed=reclaim_stale(now))
    record_sent()  # what a crashed worker marked sent but did not record
    for user_id in due_senders(now):
        token = worker_token()
        try:
            mailbox, emails, deferred = claim_for_sender(user_id, now, token, batch)
        except OperationalError as exc:  # SQLite: another writer won the race; next tick
            db.session.rollback()
            log.info("claim for sender %s skipped: %s", user_id, exc.orig)
            continue
        result.deferred += deferred
        if emails:
            result.add(deliver(mailbox, emails, now, token))
    return result


def reclaim_stale(now: datetime) -> int:
    timeout = timedelta(seconds=int(current_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"]))
    outcome = db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.status == "sending", OutboundEmail.claimed_at < now - timeout)
        .values(status="queued", claimed_by=None, last_error="reclaimed: the sending worker stopped")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if outcome.rowcount:
        log.warning("reclaimed %s outbound emails from a stopped worker", outcome.rowcount)
    return outcome.rowcount or 0


def due_senders(now: datetime, limit: int = 500) -> list[int]:
    rows = db.session.scalars(
        select(OutboundEmail.user_id).where(OutboundEmail.status == "queued", OutboundEmail.due_at <= now)
        .group_by(OutboundEmail.user_id).order_by(func.min(OutboundEmail.due_at)).limit(limit)
    ).all()
    db.session.commit()  # end the read transaction: each claim is its own
    return list(rows)


def claim_for_sender(user_id: int, now: datetime, token: str, batch: int):
    """Lock the sender's mailbox, apply its limits, claim up to ``batch`` due rows. Returns
    (mailbox, claimed emails, number deferred), committed."""
    mailbox = _lock_mailbox(user_id)
    if mailbox is None:
        db.session.rollback()
        return None, [], 0
    # Meeting invites first and outside the limits: a guest waits for them, and the limits
    # pace prospecting mail, not the answer to a booking.
    ids = _due_ids(user_id, now, batch, invites=True)
    deferred = 0
    if len(ids) < batch:  # room left for prospecting mail: its limits decide how much
        allowance, wait_until = _allowance(mailbox, now, batch - len(ids))
        if allowance > 0:
            ids += _due_ids(user_id, now, allowance, invites=False)
        else:
            deferred = _defer(user_id, now, wait_until)
    if not ids:
        db.session.commit()
        return None, [], deferred
    db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(ids), OutboundEmail.status == "queued")
        .values(status="sending", claimed_by=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    # Plain rows, not ORM objects: the loop below needs only their values, and an ORM object
    # per message (identity map, expiry at every commit) costs more than the row itself.
    emails = [SimpleNamespace(**row._mapping) for row in db.session.execute(
        select(*_OUTBOX.c).where(_OUTBOX.c.claimed_by == token, _OUTBOX.c.status == "sending")
        .order_by((_OUTBOX.c.kind != "invite"), _OUTBOX.c.due_at, _OUTBOX.c.id))]
    return snapshot(mailbox), emails, deferred


def _due_ids(user_id: int, now: datetime, limit: int, *, invites: bool) -> list[int]:
    if limit <= 0:
        return []
    kind = OutboundEmail.kind == "invite" if invites else OutboundEmail.kind != "invite"
    return list(db.session.scalars(
        select(OutboundEmail.id)
        .where(OutboundEmail.user_id == user_id, OutboundEmail.status == "queued", OutboundEmail.due_at <= now, kind)
        .order_by(OutboundEmail.due_at, OutboundEmail.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all())


def snapshot(row) -> SimpleNamespace | None:
    if row is None:
        return None
    values = {c.key: getattr(row, c.key) for c in row.__table__.columns}
    if isinstance(row, Mailbox):
        values["domain"] = row.domain
    return SimpleNamespace(**values)


def _lock_mailbox(user_id: int) -> Mailbox | None:
    mailbox = db.session.scalar(
        select(Mailbox).where(Mailbox.user_id == user_id).with_for_update(skip_locked=True))
    if mailbox is not None:
        return mailbox
    exists = db.session.scalar(select(Mailbox.id).where(Mailbox.user_id == user_id))
    if exists is not None:
        return None  # another worker holds it
    user = db.session.get(User, user_id)
    if user is None:
        return None
    mailbox_for(user)
    db.session.commit()
    return _lock_mailbox(user_id)


def _allowance(mailbox: Mailbox, now: datetime, batch: int) -> tuple[int, datetime | None]:
    """How many messages this mailbox may send now, and when to retry when none."""
    allowance, wait_until = batch, None
    in_flight = None
    if mailbox.daily_cap > 0:
        used = db.session.scalar(
            select(func.count()).select_from(OutboundEmail).where(
                OutboundEmail.user_id == mailbox.user_id, OutboundEmail.kind != "invite",
                or_(OutboundEmail.status == "sending",
                    (OutboundEmail.status == "sent") & (OutboundEmail.sent_at > now - DAY)))) or 0
        allowance = min(allowance, mailbox.daily_cap - used)
        if allowance <= 0:
            oldest = db.session.scalar(
                select(func.min(OutboundEmail.sent_at)).where(
                    OutboundEmail.user_id == mailbox.user_id, OutboundEmail.status == "sent",
                    OutboundEmail.sent_at > now - DAY))
            return 0, (oldest + DAY) if oldest else now + timedelta(minutes=1)
    if mailbox.min_gap_seconds > 0:
        gap = timedelta(seconds=mailbox.min_gap_seconds)
        in_flight = db.session.scalar(
            select(func.count()).select_from(OutboundEmail).where(
                OutboundEmail.user_id == mailbox.user_id, OutboundEmail.status == "sending")) or 0
        if in_flight:
            return 0, now + gap
        if mailbox.last_sent_at is not None and mailbox.last_sent_at + gap > now:
            return 0, mailbox.last_sent_at + gap
        allowance = min(allowance, 1)
    return allowance, wait_until


def _defer(user_id: int, now: datetime, until: datetime | None) -> int:
    if until is None or until <= now:
        return 0
    outcome = db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.user_id == user_id, OutboundEmail.status == "queued", OutboundEmail.due_at <= now,
               OutboundEmail.kind != "invite")
        .values(due_at=until)
        .execution_options(synchronize_session=False)
    )
    return outcome.rowcount or 0


# --- delivery ------------------------------------------------------------------------------

class _Connection:
    """One SMTP connection per mailbox per tick, opened on first use and reopened after a
    lost connection. In ``MAIL_TRANSPORT=file`` mode there is none (files are written)."""

    def __init__(self, mailbox):
        self.settings = smtp_settings(mailbox)
        self.file_mode = current_app.config.get("MAIL_TRANSPORT", "smtp") == "file"
        self.client: smtplib.SMTP | None = None
        self.unreachable = False  # the last attempt to connect failed

    def send(self, wire: bytes, email, from_address: str, gate: transport.EndOfDataGate,
             meanwhile: Callable[[], None] | None) -> None:
        if self.file_mode:
            gate.settle()
            transport.write_file_bytes(email.message_id, wire)
            return
        if self.client is not None and self.client.sock is None:
            self.client = None  # closed by the server's 421 or a refusal: open a fresh one
        if self.client is None:
            try:
                self.client = transport.open_smtp(self.settings)
            except BaseException:
                self.unreachable = True
                raise
            self.unreachable = False
        transport.send_bytes(from_address, [email.to_address], wire, client=self.client, gate=gate,
                             meanwhile=meanwhile)

    def drop(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.drop()


def smtp_settings(mailbox) -> transport.SmtpSettings:
    base = transport.settings_from_config()
    if not mailbox.smtp_host:
        return base
    return transport.SmtpSettings(
        host=mailbox.smtp_host, port=int(mailbox.smtp_port or base.port),
        security=mailbox.smtp_security or base.security, username=mailbox.smtp_username,
        password=mailbox.smtp_password, timeout=base.timeout)


def deliver(mailbox, emails: list, now: datetime, token: str) -> TickResult:
    result = TickResult()
    connection = _Connection(mailbox)
    # The batch's tracking rows are committed before the first message leaves; each message
    # is finished while the server digests the one before it (``_build_ahead``), so the
    # per-message critical path is only SMTP plus the mark.
    batch = prepare(emails, mailbox, now, result)
    heartbeat = _Heartbeat(token)
    marks = Marks()
    try:
        for position, ready in enumerate(batch):
            try:
                heartbeat.beat(ready.email.id)
            except ClaimLost:
                db.session.rollback()
                log.warning("claim %s lost: another worker took over its rows", token)
                break
            upcoming = batch[position + 1] if position + 1 < len(batch) else None
            outcome = _send_one(connection, marks, ready, mailbox, now, upcoming)
            setattr(result, outcome, getattr(result, outcome) + 1)
            if outcome == "retried" and connection.unreachable:
                # The server is unreachable: give the rest of the batch back instead of
                # failing them one by one against a dead connection.
                rest = [later.email for later in batch[position + 1:]]
                _release(rest, now, "SMTP unavailable; retrying later")
                result.retried += len(rest)
                break
    finally:
        connection.close()
        try:
            marks.close()
        finally:
            if marks.ids:
                record_sent(marks.ids)
    return result


@dataclass
class Prepared:
    email: SimpleNamespace
    html: str | None  # the tracked HTML body (``compose.tracked_html``)
    wire: bytes | None = None  # the message as sent (CRLF line ends), once built
    language: str | None = None  # the reader's, for the unsubscribe footer (``reader_languages``)

    def build(self, mailbox, now: datetime) -> bytes:
        if self.wire is None:
            self.wire = build_wire(self.email, mailbox, now, html=self.html, language=self.language)
        return self.wire


def prepare(emails: list, mailbox, now: datetime, result: TickResult) -> list[Prepared]:
    """Track every claimed message's HTML up front, in one transaction: tracking's link rows
    of the whole batch are committed before any message carrying them leaves, so a crash can
    never leave a sent message pointing at links that were rolled back. The rest of each
    message (headers, unsubscribe token, MIME) is built later, while the server digests the
    one before it (``deliver``)."""
    links: list[dict] = []
    prepared, broken = [], []
    for email in emails:
        own: list[dict] = []
        try:
            prepared.append(Prepared(email, tracked_html(email, own)))
        except Exception as exc:  # noqa: BLE001 - one message that cannot be built fails alone
            log.exception("outbound email %s: its HTML could not be tracked", email.id)
            broken.append((email, exc))
            continue
        links.extend(own)
    insert_links(links)
    languages = reader_languages([p.email for p in prepared])  # one query for the batch
    for item in prepared:
        item.language = languages.get(item.email.id)
    db.session.commit()
    for email, exc in broken:  # failed alone, counted in ``result``; the rest go on
        _fail(email, now, f"could not build the message: {_describe(exc)}", permanent=False)
        result.failed += 1
    return prepared


class _Heartbeat:
    """Keeps our claim fresh while a long batch is sent, so a live worker's rows are never
    reclaimed as stale, and notices when they were (then stops before sending any)."""

    def __init__(self, token: str):
        self.token = token
        self.every = max(1.0, int(current_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"]) / 3)
        self.last = time.monotonic()

    def beat(self, email_id: int) -> None:
        if time.monotonic() - self.last < self.every:
            return

        db.session.execute(
            update(OutboundEmail).where(OutboundEmail.claimed_by == self.token, OutboundEmail.status == "sending")
            .values(claimed_at=utcnow()).execution_options(synchronize_session=False))
        db.session.commit()
        self.last = time.monotonic()
        still_ours = db.session.scalar(select(OutboundEmail.id).where(
            OutboundEmail.id == email_id, OutboundEmail.claimed_by == self.token,
            OutboundEmail.status == "sending"))
        db.session.commit()
        if still_ours is None:
            raise ClaimLost(self.token)


def _send_one(connection: _Connection, marks: Marks, ready: Prepared, mailbox, now: datetime,
              upcoming: Prepared | None) -> str:
    """Send one claimed message and commit its outcome: 'sent', 'failed' or 'retried'."""
    email = ready.email
    try:
        wire = ready.build(mailbox, now)
    except Exception as exc:  # noqa: BLE001 - encoding, a bad header, a DKIM key: this message alone
        log.exception("outbound email %s could not be built", email.id)
        return _fail(email, now, f"could not build the message: {_describe(exc)}", permanent=False)
    meanwhile = (lambda: _build_ahead(upcoming, mailbox, now)) if upcoming is not None else None
    try:
        connection.send(wire, email, mailbox.from_address, marks, meanwhile)
    except (MarkFailed, ClaimLost):
        raise  # the exactly-once machinery says stop: never treated as this message's fault
    except transport.InternationalAddressRefused as exc:
        return _fail(email, now, exc.reason, permanent=False)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = _first_refusal(exc)
        return _refused(email, code, text, now)
    except smtplib.SMTPSenderRefused as exc:
        # The server refuses *us*, not this message: retry rather than fail every message.
        return _retry(email, now, f"sender refused: {exc.smtp_code} {_text(exc.smtp_error)}")
    except smtplib.SMTPResponseException as exc:
        return _refused(email, exc.smtp_code, _text(exc.smtp_error), now)
    except (smtplib.SMTPException, OSError) as exc:
        connection.drop()
        return _retry(email, now, f"connection: {type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a poison message must not stop the batch
        # Whatever state the SMTP transaction is in, dropping the connection makes the
        # server discard it (RFC 5321, 4.1.1.4); the next message opens a fresh one.
        connection.drop()
        log.exception("outbound email %s: unexpected error while sending", email.id)
        return _retry(email, now, f"unexpected error: {_describe(exc)}")
    marks.submit(email, now)
    return "sent"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:900]


def _build_ahead(ready: Prepared, mailbox, now: datetime) -> None:
    """Build the next message while the server digests this one. Must not raise (the reply
    to this message is still unread): a message that cannot be built is built again on its
    own turn, which raises there as it would have."""
    try:
        ready.build(mailbox, now)
    except Exception:  # noqa: BLE001 - see the docstring
        log.debug("building outbound email %s ahead failed; retried on its turn", ready.email.id, exc_info=True)


# --- recording: the side effects of sent messages, once each ----------------------------------

RECORD_BATCH = 500
_ACTIVITIES = Activity.__table__
_RECORDED_COLUMNS = (_OUTBOX.c.id, _OUTBOX.c.user_id, _OUTBOX.c.message_id, _OUTBOX.c.enrollment_id,
                     _OUTBOX.c.step_id, _OUTBOX.c.sent_at)


def record_sent(ids: list[int] | None = None, *, limit: int = RECORD_BATCH) -> int:
    """Write what sending caused, for sent messages not recorded yet (``ids``, or any, oldest
    first): the ``email_sent`` activity, the ``emails_sent`` signal, the mailbox's last send. One
    transaction per ``limit`` rows; ``recorded_at IS NULL`` in the UPDATE makes a row recorded
    once however many workers try. Returns the number recorded."""
    if ids is not None:
        return sum(_record_chunk(ids[start:start + limit]) for start in range(0, len(ids), limit))
    recorded = 0
    while chunk := _unrecorded_ids(limit):
        recorded += _record_chunk(chunk)
        if len(chunk) < limit:
            break
    return recorded


def _record_chunk(ids: list[int]) -> int:
    """One transaction: claim the rows still unrecorded among ``ids``, write their effects."""
    rows = db.session.execute(
        update(_OUTBOX).where(_OUTBOX.c.id.in_(ids), _OUTBOX.c.status == "sent", _OUTBOX.c.recorded_at.is_(None))
        .values(recorded_at=utcnow()).returning(*_RECORDED_COLUMNS)
    ).all()
    _write_side_effects(sorted(rows, key=lambda row: row.id))
    db.session.commit()
    return len(rows)


def _unrecorded_ids(limit: int) -> list[int]:
    return list(db.session.scalars(
        select(OutboundEmail.id).where(OutboundEmail.status == "sent", OutboundEmail.recorded_at.is_(None))
        .order_by(OutboundEmail.id).limit(limit).with_for_update(skip_locked=True)).all())


def _write_side_effects(rows) -> None:
    if not rows:
        return
    _insert_sent_activities([row.id for row in rows])
    last_sent: dict[int, datetime] = {}
    for row in rows:
        last_sent[row.user_id] = max(row.sent_at, last_sent.get(row.user_id, row.sent_at))
    for user_id, sent_at in last_sent.items():
        db.session.execute(
            update(Mailbox).where(Mailbox.user_id == user_id,
                                  or_(Mailbox.last_sent_at.is_(None), Mailbox.last_sent_at < sent_at))
            .values(last_sent_at=sent_at).execution_options(synchronize_session=False))
    db.session.flush()
    emails_sent.send(None, emails=list(rows))


def _insert_sent_activities(ids: list[int]) -> None:
    """The ``email_sent`` activities, built by the database from the outbox rows themselves
    (one INSERT ... SELECT: no subject or address travels to the worker and back)."""
    contacts, email = Contact.__table__, _OUTBOX.c
    details = json_object(*(part for key, column in _ACTIVITY_DETAILS
                            for part in (literal(key, String()), email[column])))
    source = (
        select(literal("email_sent", String()), email.sent_at, email.contact_id, contacts.c.company_id, email.user_id,
               literal(utcnow(), UTCDateTime()), details)
        .select_from(_OUTBOX.outerjoin(contacts, contacts.c.id == email.contact_id))
        .where(email.id.in_(ids), email.contact_id.is_not(None)).order_by(email.id))
    db.session.execute(insert(_ACTIVITIES).from_select(
        ["kind", "occurred_at", "contact_id", "company_id", "user_id", "created_at", "details"], source))


_ACTIVITY_DETAILS = (("outbound_email_id", "id"), ("subject", "subject"), ("message_id", "message_id"),
                     ("to", "to_address"), ("kind", "kind"), ("enrollment_id", "enrollment_id"),
                     ("step_id", "step_id"))


def _first_refusal(exc: smtplib.SMTPRecipientsRefused) -> tuple[int, str]:
    for code, text in exc.recipients.values():
        return int(code), _text(text)
    return 550, "recipient refused"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refused(email, code: int, text: str, now: datetime) -> str:
    reason = f"{code} {text}"[:1000]
    if 500 <= code < 600:
        return _fail(email, now, reason, permanent=True)
    return _retry(email, now, reason)


def _update(email, **values) -> None:
    """Write the outcome by primary key (the row is ours: we hold its claim)."""
    db.session.execute(update(OutboundEmail).where(OutboundEmail.id == email.id).values(**values)
                       .execution_options(synchronize_session=False))
    for key, value in values.items():
        setattr(email, key, value)


def _retry(email, now: datetime, reason: str) -> str:
    attempts = (email.attempts or 0) + 1
    if attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"]):
        return _fail(email, now, f"gave up after {attempts} attempts: {reason}", permanent=False)
    _update(email, attempts=attempts, status="queued", claimed_by=None, last_error=reason[:1000],
            due_at=now + backoff(attempts))
    db.session.commit()
    log.info("outbound email %s: transient failure, retry at %s: %s", email.id, email.due_at, reason)
    return "retried"


def backoff(attempts: int) -> timedelta:
    base = int(current_app.config["MAIL_RETRY_BASE_SECONDS"])
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def _fail(email, now: datetime, reason: str, *, permanent: bool) -> str:
    """Fail one message for good, with its reason, on the outbox row and the contact's
    timeline (``email_failed``). ``permanent``: the recipient was refused (a 5xx), which
    sequences treat as a bounce; a local failure (building it, a server that cannot take the
    address, giving up after retries) is not the prospect's fault. The rep may retry it."""
    _update(email, status="failed", last_error=reason[:1000], claimed_by=None,
            attempts=(email.attempts or 0) + 1)
    if email.contact_id is not None:
        record_activity("email_failed", now, contact_id=email.contact_id, user_id=email.user_id,
                        company_id=db.session.scalar(select(Contact.company_id).where(Contact.id == email.contact_id)),
                        details={"outbound_email_id": email.id, "subject": email.subject, "to": email.to_address,
                                 "reason": reason[:300]})
    db.session.flush()
    email_failed.send(db.session.get(OutboundEmail, email.id, populate_existing=True), permanent=permanent, now=now)
    db.session.commit()
    log.warning("outbound email %s failed (%s): %s", email.id, "recipient refused" if permanent else "not sent", reason)
    return "failed"


def _release(emails, now: datetime, reason: str) -> None:
    if not emails:
        return
    db.session.execute(
        update(OutboundEmail).where(OutboundEmail.id.in_([e.id for e in emails]), OutboundEmail.status == "sending")
        .values(status="queued", claimed_by=None, last_error=reason, due_at=now + backoff(1))
        .execution_options(synchronize_session=False))
    db.session.commit()
