"""Tasks sequence steps create for reps (calls, social touches, manual emails to edit and
send). The calls feature uses ``due_call_tasks`` and ``complete_call_task`` (through
``crm.sequences.services``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.mail.models import OutboundEmail
from crm.sequences.enrollments import can_act_for
from crm.sequences.models import Enrollment, SequenceStep, SequenceTask
from crm.sequences.runner import advance, ordered_steps
from crm.validation import as_id

OUTCOME_MAX = 40


@dataclass(frozen=True)
class DueCallTask:
    task_id: int
    contact_id: int
    enrollment_id: int
    sequence_name: str
    step_position: int  # 1-based
    due_at: datetime


def _step_ordinal(step: SequenceStep | None) -> int:
    if step is None:
        return 0
    ids = [s.id for s in ordered_steps(step.sequence_id)]
    return ids.index(step.id) + 1 if step.id in ids else step.position


def due_call_tasks(user_id: int, until: datetime) -> list[DueCallTask]:
    """Open call tasks of ``user_id``'s enrollments due at or before ``until``, oldest first."""
    tasks = db.session.scalars(
        select(SequenceTask).join(Enrollment, SequenceTask.enrollment_id == Enrollment.id)
        .where(SequenceTask.owner_id == user_id, SequenceTask.kind == "call", SequenceTask.done_at.is_(None),
               SequenceTask.due_at <= until, Enrollment.status == "active")
        .options(joinedload(SequenceTask.enrollment).joinedload(Enrollment.sequence),
                 joinedload(SequenceTask.step))
        .order_by(SequenceTask.due_at, SequenceTask.id)
    ).all()
    return [DueCallTask(t.id, t.contact_id, t.enrollment_id, t.enrollment.sequence.name,
                        _step_ordinal(t.step), t.due_at) for t in tasks]


def _finish_task(task_id: int, now: datetime, outcome: str) -> SequenceTask | None:
    """Mark the task done if it was open: a conditional update, so two tabs (or the call
    queue and this page) completing the same task advance the enrollment once."""
    result = db.session.execute(
        update(SequenceTask).where(SequenceTask.id == task_id, SequenceTask.done_at.is_(None))
        .values(done_at=now, outcome=outcome[:OUTCOME_MAX]).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    return db.session.get(SequenceTask, task_id, populate_existing=True)


def _advance_for(task: SequenceTask, now: datetime) -> None:
    enrollment = db.session.get(Enrollment, task.enrollment_id)
    if enrollment is not None and enrollment.is_live and enrollment.current_step_id == task.step_id \
            and enrollment.awaiting == "task":
        advance(enrollment, task.step_id, now)


def complete_call_task(task_id: int, actor, now: datetime, outcome: str) -> bool:
    """Mark the call task done with the call's outcome and advance its enrollment. Returns
    False when the task was already done (a second tab logging the same call). Flushes."""
    task = get_task(task_id)
    require_task_owner(actor, task)
    done = _finish_task(task.id, now, (outcome or "done").strip() or "done")
    if done is None:
        return False
    _advance_for(done, now)
    return True


# --- tasks pages ------------------------------------------------------------------------------

def get_task(task_id) -> SequenceTask:
    task = db.session.get(SequenceTask, as_id(task_id)) if as_id(task_id) else None
    if task is None:
        raise NotFound(_("no such task"))
    return task


def require_task_owner(actor, task: SequenceTask) -> None:
    if actor is not None and not can_act_for(actor, task.owner):
        raise PermissionDenied(_("this task is not yours"))


def open_tasks(user_id: int, limit: int = 200) -> list[SequenceTask]:
    return list(db.session.scalars(
        select(SequenceTask).where(SequenceTask.owner_id == user_id, SequenceTask.done_at.is_(None))
        .options(joinedload(SequenceTask.contact), joinedload(SequenceTask.enrollment).joinedload(Enrollment.sequence))
        .order_by(SequenceTask.due_at, SequenceTask.id).limit(limit)
    ))


def complete_task(actor, task_id, now: datetime, outcome: str = "done") -> bool:
    """Done for a social or call task (manual emails are done by sending them)."""
    task = get_task(task_id)
    require_task_owner(actor, task)
    if task.kind == "manual_email":
        raise ValidationFailed(_("send the email to complete this task"), {"task_id": _("a manual email task")})
    done = _finish_task(task.id, now, outcome)
    if done is None:
        return False
    _advance_for(done, now)
    return True


def draft_of(task: SequenceTask):
    if task.outbound_email_id is None:
        return None
    return db.session.get(OutboundEmail, task.outbound_email_id)


def send_manual_email(actor, task_id, subject: str, text_body: str, now: datetime):
    """The rep's edited draft goes to the outbox now; the enrollment moves on once it is sent."""
    task = get_task(task_id)
    require_task_owner(actor, task)
    if task.kind != "manual_email":
        raise ValidationFailed(_("not an email task"), {"task_id": _("not a manual email task")})
    draft = draft_of(task)
    if task.done_at is not None or draft is None or draft.status != "draft":
        raise Conflict(_("this email was already sent or cancelled"))
    subject, text_body = " ".join((subject or "").split()), (text_body or "").strip()
    errors = {}
    if not subject or len(subject) > 500:
        errors["subject"] = _("required, at most 500 characters")
    if not text_body or len(text_body) > 100_000:
        errors["text_body"] = _("required, at most 100,000 characters")
    if errors:
        raise ValidationFailed(_("the email is incomplete"), errors)
    draft.subject, draft.text_body = subject, text_body
    draft.html_body = None  # the rep edited the text: the sent email is what they saw
    draft.status, draft.due_at = "queued", now
    if _finish_task(task.id, now, "sent") is None:
        raise Conflict(_("this email was already sent"))
    enrollment = db.session.get(Enrollment, task.enrollment_id)
    if enrollment is not None and enrollment.current_step_id == task.step_id:
        enrollment.awaiting, enrollment.updated_at = "email", now
    db.session.flush()
    return draft
