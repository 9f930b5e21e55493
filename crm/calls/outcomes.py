"""Logging a call: one service for the working page, the API and anything else.

A queue entry is claimed with a conditional UPDATE (``status = 'queued'`` -> ``'done'``), so
two browser tabs (or two API clients) logging the same entry produce one outcome: the second
gets ``Conflict``. On PostgreSQL the second UPDATE waits for the first transaction and then
finds the row no longer queued (READ COMMITTED re-checks the WHERE clause).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.orm import joinedload

from crm.calls.models import OUTCOME_LABELS, OUTCOMES, CallQueueEntry, CallTask
from crm.contacts.models import Activity, Contact
from crm.contacts.services import record_activity
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.policy import require_sales
from crm.sequences.services import complete_call_task, due_call_tasks
from crm.validation import as_id, has_control_chars

MAX_NOTES = 5000
MAX_DURATION_SECONDS = 6 * 3600


@dataclass(frozen=True)
class LoggedCall:
    activity: Activity
    entry_id: int | None
    task_completed: bool
    callback_id: int | None
    follow_up_id: int | None


def _validate(outcome, notes, duration_seconds, callback_at, follow_up, now) -> dict[str, str]:
    errors: dict[str, str] = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = _("one of %(choices)s", choices=", ".join(OUTCOMES))
    if len(notes) > MAX_NOTES:
        errors["notes"] = _("at most %(max_notes)s characters", max_notes=MAX_NOTES)
    elif has_control_chars(notes):
        errors["notes"] = _("contains control characters")
    if duration_seconds is not None and not (isinstance(duration_seconds, int)
                                             and 0 <= duration_seconds <= MAX_DURATION_SECONDS):
        errors["duration_seconds"] = _("seconds from 0 to %(max)s", max=MAX_DURATION_SECONDS)
    if outcome == "callback":
        if callback_at is None:
            errors["callback_at"] = _("when to call back")
        elif callback_at.tzinfo is None:
            errors["callback_at"] = _("a time with its zone")
        elif not now < callback_at <= now + timedelta(days=366):
            errors["callback_at"] = _("a time in the coming year")
    if follow_up:
        title = follow_up.get("title") or ""
        due = follow_up.get("due_at")
        if not title.strip() or len(title) > 200 or has_control_chars(title):
            errors["follow_up.title"] = _("a title of at most 200 characters")
        if due is None or due.tzinfo is None or due > now + timedelta(days=366 * 2):
            errors["follow_up.due_at"] = _("a due time with its zone")
    return errors


def _claim(actor, entry_id: int, contact_id: int, outcome: str, now: datetime) -> CallQueueEntry:
    entry = db.session.get(CallQueueEntry, entry_id)
    if entry is None:
        raise NotFound(_("no such queue entry"))
    if entry.user_id != actor.id:
        raise PermissionDenied(_("this is another rep's queue"))
    if entry.contact_id != contact_id:
        raise ValidationFailed(_("the entry is for another contact"), {"entry_id": _("not this contact's entry")})
    claimed = db.session.execute(
        update(CallQueueEntry)
        .where(and_(CallQueueEntry.id == entry_id, CallQueueEntry.status == "queued"))
        .values(status="done", outcome=outcome, logged_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict(_("this call was already logged (in another tab?)"))
    db.session.refresh(entry)
    return entry


def _open_entry_for(actor, contact_id: int, now: datetime) -> int | None:
    return db.session.scalar(select(CallQueueEntry.id).where(
        CallQueueEntry.user_id == actor.id, CallQueueEntry.contact_id == contact_id,
        CallQueueEntry.status == "queued", CallQueueEntry.queue_date >= (now - timedelta(days=1)).date(),
    ).order_by(CallQueueEntry.queue_date.desc()).limit(1))


def _complete_sequence_task(actor, entry, contact_id: int, outcome: str, now: datetime) -> bool:
    task_id = entry.task_id if entry is not None else None
    if task_id is None:  # a call logged outside the queue still completes the due step
        task_id = next((t.task_id for t in due_call_tasks(actor.id, now) if t.contact_id == contact_id), None)
    return bool(task_id) and complete_call_task(task_id, actor, now, outcome)


def log_call(actor, *, contact_id, outcome: str, now: datetime, notes: str = "",
             duration_seconds: int | None = None, entry_id=None, callback_at: datetime | None = None,
             follow_up: dict | None = None) -> LoggedCall:
    """Log one call: claim the queue entry (if any), write the ``call`` activity, complete the
    sequence call task, flag a wrong number, and create the callback / follow-up. Flushes."""
    require_sales(actor)
    notes = (notes or "").strip()
    errors = _validate(outcome, notes, duration_seconds, callback_at, follow_up, now)
    contact = db.session.get(Contact, as_id(contact_id)) if as_id(contact_id) else None
    if contact is None:
        errors.setdefault("contact_id", _("no such contact"))
    if entry_id is not None and as_id(entry_id) is None:
        errors.setdefault("entry_id", _("no such queue entry"))
    if errors:
        raise ValidationFailed(_("the call cannot be logged"), errors)
    entry_id = as_id(entry_id) if entry_id is not None else _open_entry_for(actor, contact.id, now)
    entry = _claim(actor, entry_id, contact.id, outcome, now) if entry_id else None
    activity = record_activity(
        "call", now, contact_id=contact.id, company_id=contact.company_id, user_id=actor.id,
        details={"outcome": outcome, "outcome_label": OUTCOME_LABELS[outcome], "notes": notes,
                 "duration_seconds": duration_seconds, "queue_entry_id": entry.id if entry else None,
                 "reason_code": entry.reason_code if entry else None},
    )
    if entry is not None:
        entry.activity_id = activity.id
    _close_due_callbacks(actor, contact.id, now, activity.id)
    if outcome == "wrong_number":
        contact.phone_invalid_at = now
    callback = follow = None
    if outcome == "callback":
        callback = _task(actor, contact, "callback", f"Call back {contact.full_name}"[:200], callback_at, activity, now)
    if follow_up:
        follow = _task(actor, contact, "follow_up", follow_up["title"].strip(), follow_up["due_at"], activity, now)
    completed = _complete_sequence_task(actor, entry, contact.id, outcome, now)
    db.session.flush()
    return LoggedCall(activity, entry.id if entry else None, completed,
                      callback.id if callback else None, follow.id if follow else None)


def _close_due_callbacks(actor, contact_id: int, now: datetime, activity_id: int) -> None:
    """A call to someone we promised to call back keeps that promise."""
    db.session.execute(
        update(CallTask).where(CallTask.user_id == actor.id, CallTask.contact_id == contact_id,
                               CallTask.kind == "callback", CallTask.done_at.is_(None),
                               CallTask.due_at <= now + timedelta(hours=1))
        .values(done_at=now).execution_options(synchronize_session=False)
    )


def _task(actor, contact, kind, title, due_at, activity, now) -> CallTask:
    task = CallTask(user_id=actor.id, contact_id=contact.id, kind=kind, title=title, due_at=due_at,
                    activity_id=activity.id, created_at=now)
    db.session.add(task)
    db.session.flush()
    return task


def open_follow_ups(user_id: int, until: datetime, limit: int = 50) -> list[CallTask]:
    return list(db.session.scalars(
        select(CallTask).options(joinedload(CallTask.contact))
        .where(CallTask.user_id == user_id, CallTask.done_at.is_(None), CallTask.due_at <= until)
        .order_by(CallTask.due_at).limit(limit)
    ))


def complete_follow_up(actor, task_id: int, now: datetime) -> bool:
    return db.session.execute(
        update(CallTask).where(CallTask.id == task_id, CallTask.user_id == actor.id, CallTask.done_at.is_(None))
        .values(done_at=now).execution_options(synchronize_session=False)
    ).rowcount == 1
