"""What the mail outbox tells sequences about the emails it sends. CONTRACT (called by
crm.mail): ``on_email_sent`` (and ``on_emails_sent`` for a batch), ``on_email_failed``,
``on_soft_bounce``. They change enrollments only (mail writes the ``email_sent`` activity);
they write in the caller's transaction, never commit."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm.util import identity_key

from crm.auth.models import User
from crm.contacts.models import Company, Contact, zone_of
from crm.extensions import db
from crm.sequences.models import LIVE_STATUSES, Enrollment, Sequence, SequenceStep
from crm.sequences.runner import advance, cancel_pending_mail, end_enrollment

log = logging.getLogger(__name__)

SOFT_BOUNCE_STRIKES = 3
DEFAULT_SOFT_BOUNCE_RETRY_HOURS = 24


def _enrollment_of(email) -> Enrollment | None:
    enrollment_id = getattr(email, "enrollment_id", None)
    return db.session.get(Enrollment, enrollment_id) if enrollment_id else None


def on_email_sent(email, now: datetime) -> None:
    """SMTP accepted a sequence email: its step is done, the enrollment moves on. A late
    confirmation for a step that is no longer current (the enrollment was stopped, or the
    step retried) changes nothing."""
    on_emails_sent([SimpleNamespace(enrollment_id=getattr(email, "enrollment_id", None),
                                    step_id=email.step_id, sent_at=now)])


def on_emails_sent(emails) -> None:
    """``on_email_sent`` for a batch of sent emails (ORM objects or plain rows with
    ``enrollment_id``, ``step_id`` and ``sent_at``, each sent at its ``sent_at``).

    The send tick calls this for every batch, so it is written for that: the enrollments are
    read with Core (one joined query; their reps and sequences, a handful, as ORM objects),
    moved on by the same ``runner.advance`` as everywhere else, and written back with one
    executemany UPDATE per shape (moved on; finished). Each repeats what was read (current step, awaiting) and asks
    for a live status in its WHERE: an enrollment stopped meanwhile, say by a reply that
    arrived while this batch was being sent, keeps that change instead of being overwritten;
    one paused or resumed meanwhile keeps its status and still moves on."""
    emails = [e for e in emails if getattr(e, "enrollment_id", None) and e.step_id is not None]
    if not emails:
        return
    db.session.flush()  # the Core read below must see pending ORM changes
    states = _load_states({e.enrollment_id for e in emails})
    steps = _steps_by_sequence({state.sequence_id for state in states.values()})
    for email in emails:
        state = states.get(email.enrollment_id)
        if state is not None:
            _email_sent(state, email, email.sent_at, steps.get(state.sequence_id, []))
    _write_back(list(states.values()))


def _email_sent(enrollment, email, now: datetime, steps: list[SequenceStep]) -> None:
    if enrollment.current_step_id != email.step_id or enrollment.awaiting != "email":
        done = list(enrollment.completed_step_ids or [])
        if email.step_id not in done and enrollment.is_live:
            enrollment.completed_step_ids = done + [email.step_id]
        return
    advance(enrollment, email.step_id, now, steps=steps, flush=False)


_ENROLLMENTS = Enrollment.__table__
# What moving on may change, what finishing adds, and what was read that must still hold when
# it is written. Not the status itself: a pause or a resume landing meanwhile changes it, and
# the step still moves on (the enrollment stays paused or active as that change left it).
_MOVED = ("current_step_id", "completed_step_ids", "next_due_at", "awaiting", "pending_email_id", "updated_at")
_FINISHED = ("status", "ended_at")
_SEEN = ("current_step_id", "awaiting")
_WRITE_BACK = update(_ENROLLMENTS).where(
    _ENROLLMENTS.c.id == bindparam("seen_id"),
    # Not IN (...): an expanding parameter cannot be used with executemany.
    or_(*(_ENROLLMENTS.c.status == status for status in LIVE_STATUSES)),
    _ENROLLMENTS.c.current_step_id.is_not_distinct_from(bindparam("seen_current_step_id")),
    _ENROLLMENTS.c.awaiting.is_not_distinct_from(bindparam("seen_awaiting")),
)


class _EnrollmentState(SimpleNamespace):
    """An enrollment as moving it on reads and writes it: ``runner.advance`` takes it like an
    ORM ``Enrollment`` (``user``, ``sequence``, ``contact.effective_time_zone``...)."""

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


def _load_states(ids: set[int]) -> dict[int, _EnrollmentState]:
    enrollments, contacts, companies = _ENROLLMENTS, Contact.__table__, Company.__table__
    rows = db.session.execute(
        select(enrollments.c.id, enrollments.c.sequence_id, enrollments.c.user_id,
               *(enrollments.c[name] for name in _MOVED + _FINISHED),
               contacts.c.time_zone.label("contact_zone"), companies.c.time_zone.label("company_zone"))
        .join(contacts, contacts.c.id == enrollments.c.contact_id)
        .outerjoin(companies, companies.c.id == contacts.c.company_id)
        .where(enrollments.c.id.in_(ids))
    ).all()
    users = _by_id(User, {row.user_id for row in rows})
    sequences = _by_id(Sequence, {row.sequence_id for row in rows})
    states = {}
    for row in rows:
        values = {name: getattr(row, name) for name in _MOVED + _FINISHED}
        states[row.id] = _EnrollmentState(
            id=row.id, sequence_id=row.sequence_id, user=users[row.user_id], sequence=sequences[row.sequence_id],
            contact=SimpleNamespace(effective_time_zone=zone_of(row.contact_zone, row.company_zone)),
            seen=values, **values)
    return states


def _by_id(model, ids: set[int]) -> dict:
    return {item.id: item for item in db.session.scalars(select(model).where(model.id.in_(ids)))}


def _write_back(states: list[_EnrollmentState]) -> None:
    """One executemany per shape (moved on; finished). An enrollment stopped or moved on by
    someone else meanwhile matches no row and keeps that change."""
    changed = [state for state in states
               if any(getattr(state, name) != state.seen[name] for name in _MOVED + _FINISHED)]
    for columns in (_MOVED, _MOVED + _FINISHED):
        rows = [state for state in changed if (state.status != state.seen["status"]) == (columns != _MOVED)]
        if not rows:
            continue
        result = db.session.execute(_WRITE_BACK, [
            {**{name: getattr(state, name) for name in columns}, "seen_id": state.id,
             **{f"seen_{name}": state.seen[name] for name in _SEEN}} for state in rows])
        if db.session.get_bind().dialect.supports_sane_multi_rowcount and result.rowcount < len(rows):
            log.info("%s of %s enrollments changed while their emails were recorded; left as they are",
                     len(rows) - result.rowcount, len(rows))
    for state in changed:  # an ORM copy in this session would now be stale
        loaded = db.session.identity_map.get(identity_key(Enrollment, state.id))
        if loaded is not None:
            db.session.expire(loaded)


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
        end_enrollment(enrollment, "bounced", None, now)
        return
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

