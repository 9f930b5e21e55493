"""The outbox API: put a message in, take queued ones back out. CONTRACT used by sequences
(``enqueue_email``, ``cancel_queued_for_enrollment``) and by the one-off "send later" form
and API (``send_later``, ``cancel_email``). Flushes, never commits.

Content arrives rendered: sequences render their templates when a step falls due; the send
tick (``crm.mail.outbound.sender``) adds tracking and the unsubscribe headers and sends.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, update

from crm.auth.models import User
from crm.contacts.services import normalize_email
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _, code_label
from crm.mail.models import OutboundEmail, mailbox_for
from crm.validation import has_control_chars
from crm.web.pagination import Page, paginate

MAX_SUBJECT = 998
MAX_BODY = 512 * 1024
ENQUEUE_STATUSES = ("queued", "draft")


def new_message_id(domain: str) -> str:
    """A globally unique Message-ID on the sender's domain (RFC 5322 §3.6.4)."""
    domain = (domain or current_app.config["MAIL_FROM_DOMAIN"]).strip().lower()
    return f"<{uuid.uuid4().hex}@{domain}>"


def enqueue_email(*, sender, contact, to_address: str, subject: str, text_body: str,
                  html_body: str | None, due_at: datetime, now: datetime, kind: str = "sequence",
                  status: str = "queued", enrollment_id: int | None = None, step_id: int | None = None,
                  template_id: int | None = None, in_reply_to: str | None = None,
                  references: str | None = None) -> OutboundEmail:
    """Queue one rendered message from ``sender`` (a User) for ``due_at``. The Message-ID is
    assigned now, so a follow-up can set ``In-Reply-To`` to it before this one is sent.
    ``status='draft'`` keeps it out of the send tick (manual email steps). Flushes."""
    fields = _check(to_address, subject, text_body, html_body, due_at, kind, status)
    mailbox = mailbox_for(sender)
    email = OutboundEmail(
        kind=kind, user_id=sender.id, contact_id=contact.id if contact is not None else None,
        to_address=fields["to_address"], subject=subject.strip(), text_body=text_body,
        html_body=html_body or None, status=status, due_at=due_at, attempts=0,
        message_id=new_message_id(mailbox.domain), in_reply_to=in_reply_to or None,
        references=references or None, enrollment_id=enrollment_id, step_id=step_id,
        template_id=template_id, created_at=now,
    )
    db.session.add(email)
    db.session.flush()
    return email


CALENDAR_METHODS = ("REQUEST", "CANCEL")


def enqueue_invite(*, sender, contact, to_address: str, subject: str, text_body: str, calendar_ics: str,
                   method: str, now: datetime) -> OutboundEmail:
    """Queue a meeting invite from ``sender``'s mailbox, due now: the text, and the iCalendar
    object sent as a ``text/calendar; method=...`` part and an .ics attachment. Called in the
    transaction that books, moves or cancels the meeting, so the invite exists exactly when the
    change does; the send tick delivers and retries it like any email, ahead of the mailbox's
    prospecting mail and outside its daily cap and spacing (a guest waits for it). Flushes."""
    fields = _check(to_address, subject, text_body, None, now, "one_off", "queued")
    if method not in CALENDAR_METHODS or not calendar_ics.startswith("BEGIN:VCALENDAR"):
        raise ValidationFailed(_("the invite cannot be queued"),
                               {"calendar_ics": _("an iCalendar object, REQUEST or CANCEL")})
    mailbox = mailbox_for(sender)
    email = OutboundEmail(
        kind="invite", user_id=sender.id, contact_id=contact.id if contact is not None else None,
        to_address=fields["to_address"], subject=subject.strip(), text_body=text_body, html_body=None,
        calendar_ics=calendar_ics, calendar_method=method, status="queued", due_at=now, attempts=0,
        message_id=new_message_id(mailbox.domain), created_at=now,
    )
    db.session.add(email)
    db.session.flush()
    return email


def _check(to_address, subject, text_body, html_body, due_at, kind, status) -> dict:
    errors: dict[str, str] = {}
    address = ""
    try:
        address = normalize_email(to_address or "")
    except Exception:  # noqa: BLE001 - email-validator's refusals all mean the same here
        errors["to_address"] = _("not a valid email address")
    if not (subject or "").strip():
        errors["subject"] = _("required")
    elif len(subject) > MAX_SUBJECT or "\n" in subject or "\r" in subject or has_control_chars(subject):
        errors["subject"] = _("one line of at most %(max_subject)s characters", max_subject=MAX_SUBJECT)
    if not (text_body or "").strip():
        errors["text_body"] = _("required")
    elif len(text_body) > MAX_BODY or has_control_chars(text_body):
        errors["text_body"] = _("at most %(max_body)s characters of text", max_body=MAX_BODY)
    if html_body and (len(html_body) > MAX_BODY or has_control_chars(html_body)):
        errors["html_body"] = _("at most %(max_body)s characters of text", max_body=MAX_BODY)
    if due_at is None or due_at.tzinfo is None:
        errors["due_at"] = _("a timezone-aware date and time")
    if kind not in ("sequence", "one_off"):
        errors["kind"] = _("sequence or one_off")
    if status not in ENQUEUE_STATUSES:
        errors["status"] = _("queued or draft")
    if errors:
        raise ValidationFailed(_("the email cannot be queued"), errors)
    return {"to_address": address}


def cancel_queued_for_enrollment(enrollment_id: int, now: datetime) -> int:
    """Cancel the enrollment's messages that have not started to leave (queued or draft).
    A message already being sent is left alone: it is too late. Returns how many."""
    result = db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.enrollment_id == enrollment_id, OutboundEmail.status.in_(("queued", "draft")))
        .values(status="cancelled", last_error="cancelled: enrollment stopped")
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount or 0


def send_later(*, actor, contact, subject: str, text_body: str, html_body: str | None,
               due_at: datetime, now: datetime, to_address: str | None = None) -> OutboundEmail:
    """A one-off email from ``actor`` to ``contact`` at ``due_at`` (now or later), through the
    same outbox, limits and send tick as sequence emails."""
    if contact is None:
        raise NotFound(_("no such contact"))
    if not contact.can_be_contacted():
        raise ValidationFailed(_("this contact must not be emailed"),
                               {"contact_id": _("do-not-contact or unsubscribed")})
    if contact.email_bounced_at is not None and not to_address:
        raise ValidationFailed(_("this address bounced"), {"contact_id": _("the contact's address bounced")})
    if due_at is not None and due_at.tzinfo is not None and due_at < now:
        due_at = now
    return enqueue_email(
        sender=actor, contact=contact, to_address=to_address or contact.email, subject=subject,
        text_body=text_body, html_body=html_body, due_at=due_at, now=now, kind="one_off",
    )


def visible_to(actor, email: OutboundEmail) -> bool:
    """Reps see their own outbox; managers their team's; admins everyone's."""
    if actor.role == "admin" or email.user_id == actor.id:
        return True
    return actor.role == "manager" and email.user is not None and email.user.manager_id == actor.id


def get_email(actor, email_id: int) -> OutboundEmail:
    email = db.session.get(OutboundEmail, email_id)
    if email is None or not visible_to(actor, email):
        raise NotFound(_("no such email"))
    return email


CANCELLABLE = ("queued", "draft", "failed")
RETRYABLE_KINDS = ("one_off", "invite")


def _own_email(actor, email_id: int) -> OutboundEmail:
    email = get_email(actor, email_id)
    if email.user_id != actor.id and actor.role not in ("admin", "manager"):
        raise PermissionDenied(_("not your email"))
    return email


def cancel_email(actor, email_id: int, now: datetime) -> OutboundEmail:
    """Cancel a scheduled message, or dismiss a failed one; one being sent or already sent
    cannot be. The status in the UPDATE makes it safe against the send tick claiming it."""
    email = _own_email(actor, email_id)
    result = db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email.id, OutboundEmail.status.in_(CANCELLABLE))
        .values(status="cancelled", last_error=_cancel_note(email))
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise Conflict(_("this email is %(status)s: only scheduled or failed emails can be cancelled",
                         status=code_label(email.status, "email_status").lower()))
    db.session.flush()
    db.session.refresh(email)
    return email


def _cancel_note(email: OutboundEmail) -> str:
    if email.status == "failed" and email.last_error:
        return f"cancelled by the user after: {email.last_error}"[:1000]
    return "cancelled by the user"


def retry_email(actor, email_id: int, now: datetime) -> OutboundEmail:
    """Queue a failed message again, due now, with a fresh attempt budget (the reason of the
    last failure stays on the row until it is sent). A sequence email is not retried here:
    its sequence already reran or stopped the step, and a second copy would reach the
    prospect twice."""
    email = _own_email(actor, email_id)
    if email.kind not in RETRYABLE_KINDS:
        raise Conflict(_("a sequence email is retried by its sequence, not from the outbox"))
    result = db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email.id, OutboundEmail.status == "failed")
        .values(status="queued", due_at=now, attempts=0, claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise Conflict(_("this email is %(status)s: only failed emails can be retried",
                           status=code_label(email.status, "email_status").lower()))
    db.session.flush()
    db.session.refresh(email)
    return email


OUTBOX_FILTERS = {
    "scheduled": ("queued", "draft", "sending"),
    "sent": ("sent",),
    "failed": ("failed", "cancelled"),
}


def list_outbox(actor, *, box: str = "scheduled", user_id: int | None = None, page: int = 1,
                per_page: int = 50) -> Page:
    """The actor's outbox (a manager may look at a rep of their team, an admin at anyone's):
    scheduled mail soonest first, sent and failed mail newest first."""
    owner_id = actor.id
    if user_id and user_id != actor.id:
        owner = db.session.get(User, user_id)
        allowed = owner is not None and (actor.role == "admin" or (
            actor.role == "manager" and owner.manager_id == actor.id))
        if not allowed:
            raise NotFound(_("no such user"))
        owner_id = owner.id
    statuses = OUTBOX_FILTERS.get(box, OUTBOX_FILTERS["scheduled"])
    query = select(OutboundEmail).where(OutboundEmail.user_id == owner_id, OutboundEmail.status.in_(statuses))
    if box == "scheduled":
        query = query.order_by(OutboundEmail.due_at, OutboundEmail.id)
    else:
        query = query.order_by(func.coalesce(OutboundEmail.sent_at, OutboundEmail.due_at).desc(),
                               OutboundEmail.id.desc())
    return paginate(query, page, per_page)
