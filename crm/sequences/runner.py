"""The step engine: what happens when an enrollment's current step falls due, and how an
enrollment moves on once a step is done.

Life of a step:

1. ``next_due_at`` is set when the step becomes current (enrollment, or the previous step
   done) from the step's delay in the rep's business days, and for emails the send window
   in the contact's zone.
2. The worker's tick (``run_due_steps``) **claims** due enrollments: on PostgreSQL
   ``SELECT ... FOR UPDATE SKIP LOCKED`` (two workers never get the same row), elsewhere a
   conditional ``UPDATE ... WHERE next_due_at = :seen`` (the loser matches no row). The claim
   clears ``next_due_at`` in the same transaction that enqueues the email or creates the
   task, so a step runs exactly once: a crash before the commit leaves the row due again, a
   commit leaves it claimed.
3. An auto email is rendered and handed to the mail outbox; a manual email becomes a draft
   plus a task; a call or social step becomes a task. The enrollment then *awaits*.
4. It moves on when the email is SENT (``hooks.on_emails_sent``, subscribed to mail's
   ``emails_sent`` signal) or the task is done; the last step finishes it.

Ending an enrollment (``end_enrollment``: a reply, a bounce, an unsubscribe, a booking, a rep
stopping it) lives here too, since a step that runs may have to end it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from crm.auth.models import User
from crm.contacts.services import record_activity
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.mail.models import OutboundEmail
from crm.mail.services import cancel_queued_for_enrollment, enqueue_email
from crm.sequences.context import template_context
from crm.sequences.models import Enrollment, SequenceStep, SequenceTask
from crm.sequences.rendering import RenderedEmail, render_email
from crm.sequences.schedule import add_business_days, send_moment_for

log = logging.getLogger(__name__)

REP_WORKDAYS = frozenset(range(5))  # users have no working-days setting yet: Monday to Friday
BATCH_SIZE = 200
STOP_REASONS = ("replied", "bounced", "unsubscribed", "meeting_booked", "manual", "contact_deleted")


# --- steps and due times --------------------------------------------------------------------

def ordered_steps(sequence_id: int) -> list[SequenceStep]:
    return list(db.session.scalars(
        select(SequenceStep).where(SequenceStep.sequence_id == sequence_id)
        .order_by(SequenceStep.position, SequenceStep.id)
    ))


def next_pending_step(enrollment: Enrollment, steps: list[SequenceStep] | None = None) -> SequenceStep | None:
    """The first step, in the sequence's current order, this enrollment has not done.
    ``steps``: the sequence's ``ordered_steps`` when the caller loaded them already."""
    done = set(enrollment.completed_step_ids or [])
    steps = ordered_steps(enrollment.sequence_id) if steps is None else steps
    return next((s for s in steps if s.id not in done), None)


def step_due_at(enrollment: Enrollment, step: SequenceStep, base: datetime) -> datetime:
    """When ``step`` fires, counted from ``base`` (enrollment or the previous step done)."""
    due = add_business_days(base, step.delay_days, zone_name=enrollment.user.time_zone, workdays=REP_WORKDAYS)
    if step.is_email:
        due = email_send_moment(enrollment, step, due)
    return due


def email_send_moment(enrollment: Enrollment, step: SequenceStep | None, at: datetime) -> datetime:
    sequence = enrollment.sequence
    return send_moment_for(
        at, zone_name=enrollment.contact.effective_time_zone, days=sequence.send_days or [],
        start_minute=sequence.window_start_minute, end_minute=sequence.window_end_minute,
        enrollment_id=enrollment.id, step_id=step.id if step else None,
    )


def make_current(enrollment: Enrollment, step: SequenceStep | None, base: datetime, now: datetime) -> None:
    """Point the enrollment at ``step`` (due from ``base``), or finish it when None."""
    enrollment.awaiting = None
    enrollment.pending_email_id = None
    enrollment.updated_at = now
    if step is None:
        enrollment.status = "finished"
        enrollment.current_step, enrollment.current_step_id = None, None
        enrollment.next_due_at = None
        enrollment.ended_at = now
        return
    # Both the relationship and the id: callers read either before the next flush.
    enrollment.current_step, enrollment.current_step_id = step, step.id
    enrollment.next_due_at = step_due_at(enrollment, step, base)


def advance(enrollment: Enrollment, done_step_id: int | None, now: datetime, *,
            steps: list[SequenceStep] | None = None, flush: bool = True) -> None:
    """The step is done: remember it and move to the next one not yet done. A caller moving
    many enrollments on passes each sequence's ``steps`` and flushes once (``flush=False``)."""
    done = list(enrollment.completed_step_ids or [])
    if done_step_id is not None and done_step_id not in done:
        done.append(done_step_id)
    enrollment.completed_step_ids = done
    if enrollment.status in ("finished", "stopped"):
        return
    make_current(enrollment, next_pending_step(enrollment, steps), now, now)
    if enrollment.status == "finished":
        log.info("enrollment %s finished", enrollment.id)
    if flush:
        db.session.flush()


# --- contactability -----------------------------------------------------------------------

def stop_reason_for_contact(contact, *, email_step: bool) -> str | None:
    """Why this contact must not get the step any more (checked again at send time: a flag
    may have been set since enrollment)."""
    if contact.unsubscribed:
        return "unsubscribed"
    if contact.do_not_contact:
        return "manual"
    if email_step and contact.email_bounced_at is not None:
        return "bounced"
    return None


# --- rendering and executing a step -----------------------------------------------------------

def step_sources(step: SequenceStep) -> tuple[str, str, str | None, int | None]:
    """(subject, text, html, template_id) of an email step: its template's, else its own."""
    if step.template is not None:
        t = step.template
        return t.subject, t.text_body, t.html_body, t.id
    return step.subject or "", step.text_body or "", step.html_body or None, None


def render_step(enrollment: Enrollment, step: SequenceStep) -> tuple[RenderedEmail, int | None]:
    subject, text_body, html_body, template_id = step_sources(step)
    context = template_context(enrollment.contact, enrollment.user, enrollment_id=enrollment.id, step_id=step.id)
    return render_email(subject, text_body, html_body, context), template_id


def thread_headers(enrollment: Enrollment, step: SequenceStep, own_subject: str) -> tuple[str, str | None, str | None]:
    """(subject, In-Reply-To, References): a follow-up answers the first email ("Re: ...")
    unless the step starts a new thread with its own subject."""
    if enrollment.thread_message_id is None or step.new_thread:
        return own_subject, None, None
    first = enrollment.thread_subject or own_subject
    subject = first if first.lower().startswith("re:") else f"Re: {first}"
    return subject, enrollment.thread_message_id, enrollment.thread_message_id


def enqueue_step_email(enrollment: Enrollment, step: SequenceStep, now: datetime, *, status: str):
    rendered, template_id = render_step(enrollment, step)
    subject, in_reply_to, references = thread_headers(enrollment, step, rendered.subject)
    email = enqueue_email(
        sender=enrollment.user, contact=enrollment.contact, to_address=enrollment.contact.email,
        subject=subject, text_body=rendered.text_body, html_body=rendered.html_body,
        due_at=email_send_moment(enrollment, step, now), now=now, kind="sequence", status=status,
        enrollment_id=enrollment.id, step_id=step.id, template_id=template_id,
        in_reply_to=in_reply_to, references=references,
    )
    if enrollment.thread_message_id is None:
        enrollment.thread_message_id = email.message_id
        enrollment.thread_subject = subject
    return email


def create_task(enrollment: Enrollment, step: SequenceStep, kind: str, due_at: datetime, now: datetime,
                outbound_email_id: int | None = None) -> SequenceTask:
    task = SequenceTask(
        enrollment_id=enrollment.id, step_id=step.id, contact_id=enrollment.contact_id,
        owner_id=enrollment.user_id, kind=kind, note=step.task_note, due_at=due_at,
        outbound_email_id=outbound_email_id, created_at=now,
    )
    db.session.add(task)
    db.session.flush()
    return task


def execute_step(enrollment: Enrollment, now: datetime) -> str:
    """Run the enrollment's current step (already claimed). Returns what was done."""
    step = enrollment.current_step
    if step is None:  # deleted since it became current: the next pending one takes its place
        step = next_pending_step(enrollment)
        if step is None:
            make_current(enrollment, None, now, now)
            return "finished"
        enrollment.current_step, enrollment.current_step_id = step, step.id
    reason = stop_reason_for_contact(enrollment.contact, email_step=step.is_email)
    if reason:
        end_enrollment(enrollment, reason, None, now)
        return f"stopped:{reason}"
    enrollment.last_error = None
    if step.kind == "auto_email":
        email = enqueue_step_email(enrollment, step, now, status="queued")
        enrollment.awaiting, enrollment.pending_email_id = "email", email.id
    elif step.kind == "manual_email":
        email = enqueue_step_email(enrollment, step, now, status="draft")
        create_task(enrollment, step, "manual_email", now, now, outbound_email_id=email.id)
        enrollment.awaiting, enrollment.pending_email_id = "task", email.id
    else:
        create_task(enrollment, step, step.kind, now, now)
        enrollment.awaiting = "task"
    enrollment.updated_at = now
    db.session.flush()
    return step.kind


# --- ending an enrollment ------------------------------------------------------------------------

def cancel_pending_mail(enrollment: Enrollment, now: datetime) -> int:
    """Cancel the enrollment's queued email and manual drafts in the outbox."""
    cancelled = cancel_queued_for_enrollment(enrollment.id, now) or 0
    drafts = db.session.scalars(select(OutboundEmail).where(OutboundEmail.enrollment_id == enrollment.id,
                                                            OutboundEmail.status == "draft")).all()
    for draft in drafts:
        draft.status = "cancelled"
        cancelled += 1
    return cancelled


def end_enrollment(enrollment: Enrollment, reason: str, actor: User | None, now: datetime) -> None:
    """Stop one live enrollment: nothing more is sent, open tasks are closed."""
    if reason not in STOP_REASONS:
        raise ValidationFailed(
            _("unknown stop reason"), {"reason": _("one of %(value)s", value=', '.join(STOP_REASONS))})
    cancel_pending_mail(enrollment, now)
    for task in db.session.scalars(select(SequenceTask).where(SequenceTask.enrollment_id == enrollment.id,
                                                              SequenceTask.done_at.is_(None))):
        task.done_at, task.outcome = now, "cancelled"
    enrollment.status, enrollment.stop_reason = "stopped", reason
    enrollment.next_due_at, enrollment.awaiting, enrollment.pending_email_id = None, None, None
    enrollment.paused_until = None
    enrollment.ended_at = enrollment.updated_at = now
    record_sequence_activity("sequence_stopped", enrollment, now, actor.id if actor else None, reason=reason)
    db.session.flush()


# --- the tick ---------------------------------------------------------------------------------

def claim_due(now: datetime, limit: int = BATCH_SIZE) -> list[Enrollment]:
    """Claim up to ``limit`` due enrollments for this transaction (see the module docstring)."""
    due = (select(Enrollment).where(Enrollment.status == "active", Enrollment.next_due_at <= now)
           .order_by(Enrollment.next_due_at, Enrollment.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        claimed = list(db.session.scalars(due.with_for_update(skip_locked=True, of=Enrollment)))
        for enrollment in claimed:
            enrollment.next_due_at = None
        db.session.flush()
        return claimed
    claimed = []
    for enrollment_id, seen in db.session.execute(
            select(Enrollment.id, Enrollment.next_due_at).where(Enrollment.status == "active",
                                                                 Enrollment.next_due_at <= now)
            .order_by(Enrollment.next_due_at, Enrollment.id).limit(limit)).all():
        result = db.session.execute(
            update(Enrollment).where(Enrollment.id == enrollment_id, Enrollment.status == "active",
                                     Enrollment.next_due_at == seen)
            .values(next_due_at=None).execution_options(synchronize_session=False))
        if result.rowcount == 1:
            claimed.append(db.session.get(Enrollment, enrollment_id, populate_existing=True))
    return claimed


def run_due_steps(now: datetime, limit: int = BATCH_SIZE) -> dict[str, int]:
    """The worker job: run every due step once. The caller commits."""
    counts: dict[str, int] = {}
    for enrollment in claim_due(now, limit):
        try:
            with db.session.begin_nested():
                outcome = execute_step(enrollment, now)
        except Exception as exc:  # noqa: BLE001 - one bad enrollment must not block the batch
            # A template that no longer renders, a refused address, no outbox: the savepoint
            # undid this step's writes; try again later and say why on the enrollments page.
            retry_minutes = current_app.config.get("SEQUENCE_RETRY_MINUTES", 60)
            enrollment.next_due_at = now + timedelta(minutes=retry_minutes)
            enrollment.last_error = (getattr(exc, "message", None) or str(exc))[:500]
            if isinstance(exc, ValidationFailed) and exc.fields:
                enrollment.last_error = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())[:500]
            log.warning("enrollment %s step failed: %s", enrollment.id, enrollment.last_error,
                        exc_info=not isinstance(exc, ValidationFailed))
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def record_sequence_activity(kind: str, enrollment: Enrollment, now: datetime, user_id: int | None, **details) -> None:
    record_activity(kind, now, contact_id=enrollment.contact_id, company_id=enrollment.contact.company_id,
                    user_id=user_id, details={"enrollment_id": enrollment.id, "sequence_id": enrollment.sequence_id,
                                              "sequence": enrollment.sequence.name, **details})
