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
3. **Send** over one SMTP connection per mailbox per tick. After each message the outcome is
   committed on its own: ``sent`` (+ ``email_sent`` activity + the sequences hook), ``failed``
   on a permanent refusal (5xx), or back to ``queued`` with a backoff on a transient one (4xx,
   lost connection).

The one window. Between the SMTP server accepting ``DATA`` and step 3's commit, a crash
(SIGKILL, power loss) leaves a row in ``sending`` although the message left. Step 1 will
send it again after the timeout. Nothing on our side can close this window: SMTP has no
two-phase commit. It is kept to **at most one duplicate per crashed worker**: a worker has
one message in flight at a time and commits right after ``DATA`` is accepted (the window is
the few milliseconds of that commit), and the resend carries the **same Message-ID**, which
mail clients and Gmail use to collapse duplicates. Rows claimed but not yet sent are simply
sent by the next worker, never lost.

Durability of that commit. The window above holds against a crashed *worker*: the mark is
committed before the next message leaves. Against a crashed *database* it holds when the
commit is durable, which is the default: PostgreSQL waits for the WAL flush of every mark.
``MAIL_ASYNC_COMMIT=1`` (PostgreSQL only) commits the mark with ``SET LOCAL
synchronous_commit = off``: about a WAL flush faster per message, still safe when the worker
is killed, but a crash of the database server can lose the marks of the last ~0.6 s
(3 × ``wal_writer_delay``), and those messages are sent again after the claim timeout: up to
that many duplicates instead of one. Off by default because a rep must be able to trust that
a prospect is emailed once. SQLite runs WAL with ``synchronous=NORMAL`` (crm/extensions.py):
safe against any process crash, but a power loss or OS crash of the host can undo the last
commits, with the same effect.

Cost per message, kept small so the tick keeps up with a plain ``smtplib`` loop: the whole
claimed batch is built and flattened up front (tracking's link rows committed once, before
the first message leaves), so the loop only sends and commits; the mark is Core SQL on the
session's connection (the UPDATE by primary key and the activity INSERT: one statement on
PostgreSQL, a data-modifying CTE), no ORM unit of work and no reload.

Limits, per mailbox: a rolling 24-hour cap (``daily_cap``; sent plus in-flight messages
count) and a minimum gap between two sends (``min_gap_seconds``; then at most one message per
tick). A message over a limit stays ``queued`` with ``due_at`` pushed to when it may go; it
never fails. A limit of 0 or less is off.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import smtplib
import socket
import time
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError

from crm.contacts.models import Activity, Contact
from crm.extensions import db
from crm.mail import transport
from crm.mail.models import Mailbox, OutboundEmail
from crm.mail.outbound.compose import build_message, to_wire
from crm.timeutil import utcnow

log = logging.getLogger(__name__)
DAY = timedelta(hours=24)


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
    allowance, wait_until = _allowance(mailbox, now, batch)
    if allowance <= 0:
        deferred = _defer(user_id, now, wait_until)
        db.session.commit()
        return None, [], deferred
    ids = db.session.scalars(
        select(OutboundEmail.id)
        .where(OutboundEmail.user_id == user_id, OutboundEmail.status == "queued", OutboundEmail.due_at <= now)
        .order_by(OutboundEmail.due_at, OutboundEmail.id).limit(allowance)
        .with_for_update(skip_locked=True)
    ).all()
    if ids:
        db.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(ids), OutboundEmail.status == "queued")
            .values(status="sending", claimed_by=token, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    emails = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.claimed_by == token, OutboundEmail.status == "sending")
        .order_by(OutboundEmail.due_at, OutboundEmail.id)
    ).all() if ids else []
    # Plain copies: every per-message commit below expires ORM objects, and reloading each
    # row before sending it would double the queries.
    return snapshot(mailbox), [snapshot(e) for e in emails], 0


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
    from crm.auth.models import User
    from crm.mail.models import mailbox_for

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
                OutboundEmail.user_id == mailbox.user_id,
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
        .where(OutboundEmail.user_id == user_id, OutboundEmail.status == "queued", OutboundEmail.due_at <= now)
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

    def send(self, ready: "Prepared", from_address: str, to_address: str) -> None:
        if self.file_mode:
            transport.write_file(ready.message)
            return
        if self.client is None:
            self.client = transport.open_smtp(self.settings)
        transport.send_bytes(from_address, [to_address], ready.wire, client=self.client)

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
    companies = _company_ids({e.contact_id for e in emails if e.contact_id})
    # Every message of the batch is built (and its tracking rows committed) before the first
    # one leaves: the per-message critical path is then only SMTP plus one small commit.
    remaining = prepare(emails, mailbox, now, wire=not connection.file_mode)
    heartbeat = _Heartbeat(token)
    try:
        while remaining:
            ready = remaining.pop(0)
            try:
                heartbeat.beat(ready.email.id)
            except ClaimLost:
                db.session.rollback()
                log.warning("claim %s lost: another worker took over its rows", token)
                break
            outcome = _send_one(connection, ready, mailbox, now, companies)
            setattr(result, outcome, getattr(result, outcome) + 1)
            if outcome == "retried" and connection.client is None and not connection.file_mode:
                # The server is unreachable: give the rest of the batch back instead of
                # failing them one by one against a dead connection.
                _release([r.email for r in remaining], now, "SMTP unavailable; retrying later")
                result.retried += len(remaining)
                remaining = []
    finally:
        connection.close()
        if result.sent and mailbox.min_gap_seconds <= 0:
            _touch_mailbox(mailbox.id, now)
            db.session.commit()
    return result


@dataclass
class Prepared:
    email: SimpleNamespace
    message: object  # email.message.Message
    wire: bytes | None  # the flattened message, None in MAIL_TRANSPORT=file mode


def prepare(emails: list, mailbox, now: datetime, *, wire: bool = True) -> list[Prepared]:
    """Build (and flatten) every claimed message up front, in one transaction: tracking's
    link rows of the whole batch are committed before any message carrying them leaves, so a
    crash can never leave a sent message pointing at links that were rolled back."""
    prepared = []
    for email in emails:
        message = build_message(email, mailbox, now)
        prepared.append(Prepared(email, message, to_wire(message) if wire else None))
    db.session.commit()
    return prepared


def _touch_mailbox(mailbox_id: int, now: datetime) -> None:
    db.session.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(last_sent_at=now)
                       .execution_options(synchronize_session=False))


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
        if still_ours is None:
            raise ClaimLost(self.token)


def _company_ids(contact_ids: set[int]) -> dict[int, int | None]:
    if not contact_ids:
        return {}
    rows = db.session.execute(select(Contact.id, Contact.company_id).where(Contact.id.in_(contact_ids)))
    return dict(rows.all())


def _send_one(connection: _Connection, ready: Prepared, mailbox, now: datetime,
              companies: dict) -> str:
    """Send one claimed message and commit its outcome: 'sent', 'failed' or 'retried'."""
    email = ready.email
    try:
        connection.send(ready, mailbox.from_address, email.to_address)
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
    _mark_sent(email, mailbox, now, companies)
    return "sent"


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


_OUTBOX = OutboundEmail.__table__
_ACTIVITIES = Activity.__table__
_MARK_SENT = (
    update(_OUTBOX).where(_OUTBOX.c.id == bindparam("email_id"))
    .values(status="sent", sent_at=bindparam("sent_at"), last_error=None, attempts=bindparam("attempts"))
)
_ACTIVITY_COLUMNS = ("kind", "occurred_at", "contact_id", "company_id", "user_id", "details", "created_at")
_INSERT_ACTIVITY = insert(_ACTIVITIES)
# PostgreSQL: the mark and the activity in one statement (one round trip instead of two):
# the UPDATE runs as a data-modifying CTE, the activity is inserted for the row it updated.
_sent_row = _MARK_SENT.returning(_OUTBOX.c.id).cte("sent_row")
_MARK_SENT_WITH_ACTIVITY = insert(_ACTIVITIES).from_select(
    list(_ACTIVITY_COLUMNS),
    # "activity_" names: a parameter named like an outbound_emails column (kind, user_id...)
    # would otherwise be taken as a SET value of the UPDATE.
    select(*(bindparam(f"activity_{name}", type_=_ACTIVITIES.c[name].type) for name in _ACTIVITY_COLUMNS))
    .select_from(_sent_row),
)


def _mark_sent(email, mailbox, now: datetime, companies: dict) -> None:
    """The commit that closes the window: status, the ``email_sent`` activity and the
    sequences hook in one transaction. Core statements on the session's connection (no ORM
    unit of work, no reload)."""
    connection = db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres and current_app.config.get("MAIL_ASYNC_COMMIT"):
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")  # see the module docstring
    email.attempts = (email.attempts or 0) + 1
    mark = {"email_id": email.id, "sent_at": now, "attempts": email.attempts}
    activity = {
        "kind": "email_sent", "occurred_at": now, "contact_id": email.contact_id,
        "company_id": companies.get(email.contact_id), "user_id": email.user_id,
        "details": {"outbound_email_id": email.id, "subject": email.subject, "message_id": email.message_id,
                    "to": email.to_address, "kind": email.kind, "enrollment_id": email.enrollment_id,
                    "step_id": email.step_id},
        "created_at": utcnow(),
    }
    if postgres:
        connection.execute(_MARK_SENT_WITH_ACTIVITY, mark | {f"activity_{k}": v for k, v in activity.items()})
    else:  # SQLite has no UPDATE in a CTE; two statements cost no round trip there
        connection.execute(_MARK_SENT, mark)
        connection.execute(_INSERT_ACTIVITY, activity)
    email.status, email.sent_at, email.last_error = "sent", now, None
    if mailbox.min_gap_seconds > 0:  # else once per batch (see deliver): the gap reads it
        _touch_mailbox(mailbox.id, now)
    if email.enrollment_id is not None:
        _hook("on_email_sent", email.id, now)
    db.session.commit()


def _update(email, **values) -> None:
    """Write the outcome by primary key (the row is ours: we hold its claim)."""
    db.session.execute(update(OutboundEmail).where(OutboundEmail.id == email.id).values(**values)
                       .execution_options(synchronize_session=False))
    for key, value in values.items():
        setattr(email, key, value)


def _retry(email, now: datetime, reason: str) -> str:
    attempts = (email.attempts or 0) + 1
    if attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"]):
        email.attempts = attempts
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
    _update(email, status="failed", last_error=reason[:1000], attempts=max(email.attempts or 0, 1))
    if email.enrollment_id is not None:
        _hook("on_email_failed", email.id, permanent, now)
    db.session.commit()
    log.warning("outbound email %s failed (%s): %s", email.id, "permanent" if permanent else "gave up", reason)
    return "failed"


def _release(emails, now: datetime, reason: str) -> None:
    if not emails:
        return
    db.session.execute(
        update(OutboundEmail).where(OutboundEmail.id.in_([e.id for e in emails]), OutboundEmail.status == "sending")
        .values(status="queued", claimed_by=None, last_error=reason, due_at=now + backoff(1))
        .execution_options(synchronize_session=False))
    db.session.commit()


_MISSING_HOOK_LOGGED: set[str] = set()


def _hook(name: str, email_id: int, *args) -> None:
    """Call ``crm.sequences.hooks.<name>(email, ...)`` (enrollment side effects) when the
    sequences feature provides it; imported lazily because sequences imports the outbox."""
    if importlib.util.find_spec("crm.sequences.hooks") is None:
        if name not in _MISSING_HOOK_LOGGED:
            log.warning("crm.sequences.hooks is missing: %s not called", name)
            _MISSING_HOOK_LOGGED.add(name)
        return
    from crm.sequences import hooks

    function = getattr(hooks, name, None)
    if function is not None:
        db.session.flush()
        function(db.session.get(OutboundEmail, email_id, populate_existing=True), *args)
