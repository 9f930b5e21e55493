"""What the mail outbox tells sequences about the emails it sends. CONTRACT (called by
crm.mail): ``on_email_sent`` (and ``on_emails_sent`` for a batch), ``on_email_failed``,
``on_soft_bounce``. They change enrollments only (mail writes the ``email_sent`` activity);
they flush, never commit."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.sequences import engine
from crm.sequences.models import Enrollment, SequenceStep

SOFT_BOUNCE_STRIKES = 3
DEFAULT_SOFT_BOUNCE_RETRY_HOURS = 24


def _enrollment_of(email) -> Enrollment | None:
    enrollment_id = getattr(email, "enrollment_id", None)
    return db.session.get(Enrollment, enrollment_id) if enrollment_id else None


def on_email_sent(email, now: datetime) -> None:
    """SMTP accepted a sequence email: its step is done, the enrollment moves on. A late
    confirmation for a step that is no longer current (the enrollment was stopped, or the
    step retried) changes nothing."""
    _email_sent(_enrollment_of(email), email, now, steps=None, flush=True)


def on_emails_sent(emails) -> None:
    """``on_email_sent`` for a batch of sent emails (ORM objects or plain rows with
    ``enrollment_id``, ``step_id`` and ``sent_at``, each sent at its ``sent_at``): the
    enrollments with what moving them on reads (contact and company, rep, sequence, the
    sequences' steps) are loaded up front in a few queries, and flushed once."""
    emails = [e for e in emails if getattr(e, "enrollment_id", None) and e.step_id is not None]
    if not emails:
        return
    enrollments = _load_enrollments({e.enrollment_id for e in emails})
    steps = _steps_by_sequence({en.sequence_id for en in enrollments.values()})
    for email in emails:
        enrollment = enrollments.get(email.enrollment_id)
        _email_sent(enrollment, email, email.sent_at, steps=steps.get(enrollment.sequence_id, []) if enrollment else None,
                    flush=False)
    db.session.flush()


def _email_sent(enrollment: Enrollment | None, email, now: datetime, *, steps, flush: bool) -> None:
    if enrollment is None or email.step_id is None:
        return
    if enrollment.current_step_id != email.step_id or enrollment.awaiting != "email":
        done = list(enrollment.completed_step_ids or [])
        if email.step_id not in done and enrollment.is_live:
            enrollment.completed_step_ids = done + [email.step_id]
            if flush:
                db.session.flush()
        return
    engine.advance(enrollment, email.step_id, now, steps=steps, flush=flush)


def _load_enrollments(ids: set[int]) -> dict[int, Enrollment]:
    rows = db.session.scalars(
        select(Enrollment).where(Enrollment.id.in_(ids))
        # Only what moving on reads (the send window is in the contact's zone, the contact's
        # or else the company's): contacts are wide rows, and this runs for every batch sent.
        .options(selectinload(Enrollment.contact).load_only(Contact.time_zone, Contact.company_id)
                 .selectinload(Contact.company).load_only(Company.time_zone),
                 selectinload(Enrollment.user), selectinload(Enrollment.sequence))
    ).all()
    return {enrollment.id: enrollment for enrollment in rows}


def _steps_by_sequence(sequence_ids: set[int]) -> dict[int, list[SequenceStep]]:
    steps: dict[int, list[SequenceStep]] = {sequence_id: [] for sequence_id in sequence_ids}
    for step in db.session.scalars(select(SequenceStep).where(SequenceStep.sequence_id.in_(sequence_ids))
                                   .order_by(SequenceStep.position, SequenceStep.id)):
        steps[step.sequence_id].append(step)
    return steps


def on_email_failed(email, permanent: bool, now: datetime) -> None:
    """The outbox gave up on an email. A permanent refusal (5xx) stops the enrollment as
    bounced; a temporary one is retried like a soft bounce."""
    enrollment = _enrollment_of(email)
    if enrollment is None or not enrollment.is_live:
        return
    if permanent:
        from crm.sequences.services import end_enrollment

        end_enrollment(enrollment, "bounced", None, now)
        return
    on_soft_bounce(email, now)


def on_soft_bounce(email, now: datetime) -> None:
    """A 4.x.x bounce: run the email's step again later; the third strike stops the
    enrollment as bounced."""
    enrollment = _enrollment_of(email)
    if enrollment is None or not enrollment.is_live:
        return
    enrollment.soft_bounce_count = (enrollment.soft_bounce_count or 0) + 1
    if enrollment.soft_bounce_count >= SOFT_BOUNCE_STRIKES:
        from crm.sequences.services import end_enrollment

        end_enrollment(enrollment, "bounced", None, now)
        return
    from crm.sequences.services import cancel_pending_mail

    cancel_pending_mail(enrollment, now)  # a follow-up queued meanwhile waits for the retry
    if email.step_id is not None:
        enrollment.completed_step_ids = [s for s in (enrollment.completed_step_ids or []) if s != email.step_id]
        enrollment.current_step = db.session.get(SequenceStep, email.step_id)
        enrollment.current_step_id = email.step_id
    if enrollment.thread_message_id and enrollment.thread_message_id == getattr(email, "message_id", None):
        enrollment.thread_message_id = enrollment.thread_subject = None  # nobody saw it: start afresh
    hours = current_app.config.get("SEQUENCE_SOFT_BOUNCE_RETRY_HOURS", DEFAULT_SOFT_BOUNCE_RETRY_HOURS)
    enrollment.awaiting, enrollment.pending_email_id = None, None
    enrollment.next_due_at = now + timedelta(hours=hours)
    enrollment.updated_at = now
    db.session.flush()

