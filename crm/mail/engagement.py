"""What mail tells tracking about its emails, and keeps from it: the email's first human open
and click (``first_human_open_at`` / ``first_human_click_at``, which mail's pages and the
sequence statistics read). Tracking never imports mail (mail calls ``crm.tracking.services`` to
instrument what it sends); it asks and tells through the signals in ``crm/signals.py``, which
``connect_signals`` subscribes to (called once per process where the app is built).

Written by the tracking helper of issue 13 to break the mail <-> tracking cycle; owned by mail.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.signals import email_engaged, email_engagement_recomputed, sent_emails_requested, tracked_email_requested

FIRST_COLUMNS = {"email_opened": "first_human_open_at", "email_clicked": "first_human_click_at"}


def tracked_email(email_id: int) -> OutboundEmail | None:
    """The email an open or click was on (tracking reads ``sent_at`` and ``subject``)."""
    return db.session.get(OutboundEmail, email_id)


def mark_engaged(email_id: int, *, kind: str, occurred_at: datetime) -> bool:
    """Keep the earliest human open / click; True when the email had none before."""
    column = FIRST_COLUMNS.get(kind)
    email = db.session.get(OutboundEmail, email_id) if column else None
    if email is None or column is None:
        return False
    current = getattr(email, column)
    if current is None or current > occurred_at:
        setattr(email, column, occurred_at)
        return current is None
    return False


def replace_marks(email_id: int, *, first_open_at: datetime | None, first_click_at: datetime | None) -> None:
    """After tracking re-judged the email's events. An UPDATE statement, not attribute sets:
    the session may hold a stale copy of the row."""
    db.session.execute(update(OutboundEmail).where(OutboundEmail.id == email_id).values(
        first_human_open_at=first_open_at, first_human_click_at=first_click_at))


def recently_sent(_sender, *, since: datetime, limit: int) -> list:
    """Sent emails to a contact since ``since`` (the tracking demo attaches opens to them)."""
    return list(db.session.execute(
        select(OutboundEmail.id, OutboundEmail.contact_id, OutboundEmail.subject, OutboundEmail.sent_at)
        .where(OutboundEmail.status == "sent", OutboundEmail.contact_id.is_not(None),
               OutboundEmail.sent_at >= since)
        .order_by(OutboundEmail.id).limit(limit)).all())


def connect_signals() -> None:
    """Subscribe mail to tracking's questions and news (idempotent: blinker keeps one
    connection per receiver)."""
    tracked_email_requested.connect(tracked_email)
    email_engaged.connect(mark_engaged)
    email_engagement_recomputed.connect(replace_marks)
    sent_emails_requested.connect(recently_sent)
