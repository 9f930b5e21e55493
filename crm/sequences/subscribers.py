"""What sequences do when other features announce something (``crm/signals.py``): a sent,
failed or bounced email moves the step on, retries it or stops the enrollment; a reply, an
unsubscribe or a booked meeting stops the contact's enrollments; an out-of-office notice
pauses them. ``connect`` subscribes them; the app factory calls it once per process (through
``crm.sequences.services.connect_signals``, named in the manifest).

Receivers run in the sender's transaction: they flush, never commit. Those that stop or pause
enrollments return the ids, which the sender records.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from crm import signals
from crm.sequences import hooks
from crm.sequences.enrollments import pause_enrollments_for, stop_enrollments_for
from crm.sequences.listeners import cancel_mail_of_deleted_contacts


def on_emails_sent(_sender, *, emails, **_kwargs) -> None:
    hooks.on_emails_sent(emails)


def on_email_failed(email, *, permanent: bool, now: datetime, **_kwargs) -> None:
    hooks.on_email_failed(email, permanent, now)


def on_email_bounced(contact, *, bounce_type: str | None, email, now: datetime, **_kwargs) -> list[int]:
    """A hard bounce stops the contact's enrollments; a soft one retries the email's step."""
    if bounce_type == "hard":
        return stop_enrollments_for(contact, "bounced", None, now)
    if email is not None and email.enrollment_id is not None:
        hooks.on_soft_bounce(email, now)
    return []


def on_reply_received(contact, *, ends_outreach: bool, now: datetime, **_kwargs) -> list[int]:
    return stop_enrollments_for(contact, "replied", None, now) if ends_outreach else []


def on_out_of_office(contact, *, until: datetime | None, now: datetime, **_kwargs) -> list[int]:
    return pause_enrollments_for(contact, "out_of_office", until, now)


def on_contact_unsubscribed(contact, *, now: datetime, **_kwargs) -> list[int]:
    return stop_enrollments_for(contact, "unsubscribed", None, now)


def on_meeting_booked(_meeting_id, *, contact, now: datetime, **_kwargs) -> list[int]:
    return stop_enrollments_for(contact, "meeting_booked", None, now)


_RECEIVERS = (
    (signals.emails_sent, on_emails_sent),
    (signals.email_failed, on_email_failed),
    (signals.email_bounced, on_email_bounced),
    (signals.reply_received, on_reply_received),
    (signals.out_of_office_received, on_out_of_office),
    (signals.contact_unsubscribed, on_contact_unsubscribed),
    (signals.meeting_booked, on_meeting_booked),
)


def connect() -> None:
    """Subscribe every receiver above (connecting again changes nothing), and cancel the queued
    sequence mail of contacts being deleted (an ORM event: ``listeners.py``)."""
    for signal, receiver in _RECEIVERS:
        signal.connect(receiver)
    if not event.contains(Session, "before_flush", cancel_mail_of_deleted_contacts):
        event.listen(Session, "before_flush", cancel_mail_of_deleted_contacts)
