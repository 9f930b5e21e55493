"""Enrollments: enroll one contact or a filtered list (refusals reported per contact), stop,
pause and resume one enrollment or all of a rep's, and stopping or pausing every enrollment of
a contact (``stop_enrollments_for``, ``pause_enrollments_for``: what a reply, a bounce, an
unsubscribe or a booking does, through the signals ``crm.sequences.services`` subscribes to).

Services validate, flush and leave the commit to the caller (page, API, job).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.contacts.services import search_contacts
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _, code_label
from crm.policy import can_edit_owned, require_sales
from crm.sequences import runner
from crm.sequences.models import ENROLLMENT_STATUSES, LIVE_STATUSES, Enrollment, Sequence, SequenceTask
from crm.validation import as_id
from crm.web.pagination import Page, clamp_page

PAUSE_REASONS = ("out_of_office", "manual", "holiday")
REFUSALS = {
    "do_not_contact": "marked do-not-contact",
    "unsubscribed": "unsubscribed from email",
    "bounced": "the address bounced",
    "already_active": "already active in a sequence",
    "no_email": "no email address",
    "not_permitted": "not yours to enroll",
    "not_found": "no such contact",
}
DEFAULT_PAUSE_DAYS = 14
BULK_LIMIT = 2000


# --- lookups and permissions --------------------------------------------------------------

def get_sequence(sequence_id) -> Sequence:
    sequence = db.session.get(Sequence, as_id(sequence_id)) if as_id(sequence_id) else None
    if sequence is None:
        raise NotFound(_("no such sequence"))
    return sequence


def get_enrollment(enrollment_id) -> Enrollment:
    enrollment = db.session.get(
        Enrollment, as_id(enrollment_id),
        options=[joinedload(Enrollment.contact), joinedload(Enrollment.user), joinedload(Enrollment.sequence)],
    ) if as_id(enrollment_id) else None
    if enrollment is None:
        raise NotFound(_("no such enrollment"))
    return enrollment


def can_act_for(actor: User, user: User | None) -> bool:
    """Reps act on their own enrollments, managers on their team's, admins on all."""
    if user is None:
        return actor.role == "admin"
    return can_edit_owned(actor, user.id, user.manager_id)


def require_act_on(actor: User, enrollment: Enrollment) -> None:
    if not can_act_for(actor, enrollment.user):
        raise PermissionDenied(_("you may not change this enrollment"))


# --- enrolling ------------------------------------------------------------------------------

@dataclass
class EnrollReport:
    enrolled: list[int] = field(default_factory=list)  # enrollment ids
    refused: list[dict] = field(default_factory=list)  # {contact_id, name, reason, message}

    def refuse(self, contact_id: int, name: str, reason: str) -> None:
        self.refused.append({"contact_id": contact_id, "name": name, "reason": reason,
                             "message": REFUSALS[reason]})


def refusal_for(contact: Contact, actor: User) -> str | None:
    """Why ``contact`` cannot be enrolled by ``actor`` (one reason, most important first)."""
    if not can_edit_owned(actor, contact.owner_id, contact.owner.manager_id if contact.owner else None):
        return "not_permitted"
    if not (contact.email or "").strip():
        return "no_email"
    if contact.do_not_contact:
        return "do_not_contact"
    if contact.unsubscribed:
        return "unsubscribed"
    if contact.email_bounced_at is not None:
        return "bounced"
    if db.session.scalar(select(Enrollment.id).where(Enrollment.contact_id == contact.id,
                                                      Enrollment.status.in_(LIVE_STATUSES))):
        return "already_active"
    return None


def start_enrollment(sequence: Sequence, contact: Contact, sender: User, actor: User, now: datetime) -> Enrollment:
    """Insert the enrollment; the partial unique index refuses a second live one (a race
    lost to another tab or a bulk run) as IntegrityError inside a savepoint."""
    enrollment = Enrollment(
        sequence_id=sequence.id, contact_id=contact.id, user_id=sender.id, status="active",
        completed_step_ids=[], enrolled_by_id=actor.id, created_at=now, updated_at=now,
    )
    with db.session.begin_nested():
        db.session.add(enrollment)
        db.session.flush()
    enrollment.sequence, enrollment.contact, enrollment.user = sequence, contact, sender
    runner.make_current(enrollment, runner.next_pending_step(enrollment), now, now)
    if enrollment.status == "finished":  # a sequence without steps
        raise ValidationFailed(_("this sequence has no steps"), {"sequence_id": _("add a step first")})
    runner.record_sequence_activity("sequence_enrolled", enrollment, now, actor.id)
    db.session.flush()
    return enrollment


def _sender_for(actor: User, contact: Contact) -> User:
    """The rep whose mailbox sends: the actor when in sales, the contact owner when an admin
    or manager enrolls someone else's contact."""
    if actor.role == "rep" or contact.owner is None or contact.owner_id == actor.id:
        return actor
    return contact.owner if contact.owner.is_active else actor


def enroll_contact(actor: User, sequence_id, contact_id, now: datetime) -> Enrollment:
    """Enroll one contact; a refusal is a ValidationFailed (Conflict when already active)."""
    require_sales(actor)
    sequence = get_sequence(sequence_id)
    contact = db.session.get(Contact, as_id(contact_id)) if as_id(contact_id) else None
    if contact is None:
        raise NotFound(_("no such contact"))
    reason = refusal_for(contact, actor)
    if reason == "not_permitted":
        raise PermissionDenied(_("you may not enroll this contact"))
    if reason:
        error = Conflict if reason == "already_active" else ValidationFailed
        raise error(f"cannot enroll {contact.full_name}: {REFUSALS[reason]}", {"contact_id": REFUSALS[reason]})
    try:
        return start_enrollment(sequence, contact, _sender_for(actor, contact), actor, now)
    except IntegrityError:
        raise Conflict(_("cannot enroll %(full_name)s: %(already_active)s",
                         full_name=contact.full_name, already_active=REFUSALS['already_active']),
                       {"contact_id": REFUSALS["already_active"]}) from None


def enroll_contacts(actor: User, sequence_id, contact_ids, now: datetime) -> EnrollReport:
    """Enroll many; each contact is enrolled or refused with its reason."""
    require_sales(actor)
    sequence = get_sequence(sequence_id)
    if not runner.ordered_steps(sequence.id):
        raise ValidationFailed(_("this sequence has no steps"), {"sequence_id": _("add a step first")})
    report = EnrollReport()
    ids = [i for i in dict.fromkeys(as_id(c) for c in contact_ids) if i is not None][:BULK_LIMIT]
    contacts = {c.id: c for c in db.session.scalars(
        select(Contact).where(Contact.id.in_(ids)).options(joinedload(Contact.owner), joinedload(Contact.company))
    )} if ids else {}
    for contact_id in ids:
        contact = contacts.get(contact_id)
        if contact is None:
            report.refuse(contact_id, "", "not_found")
            continue
        reason = refusal_for(contact, actor)
        if reason is None:
            try:
                report.enrolled.append(start_enrollment(sequence, contact, _sender_for(actor, contact), actor, now).id)
                continue
            except IntegrityError:
                reason = "already_active"
        report.refuse(contact.id, contact.full_name, reason)
    return report


def filtered_contact_ids(filters: dict, limit: int = BULK_LIMIT) -> list[int]:
    """Ids of the contacts the contacts list shows for these filters (same search service)."""
    ids: list[int] = []
    page = 1
    while len(ids) < limit:
        result = search_contacts(**filters, page=page, per_page=200)
        ids.extend(c.id for c in result.items)
        if not result.has_next:
            break
        page += 1
    return ids[:limit]


def enroll_filtered(actor: User, sequence_id, filters: dict, now: datetime) -> EnrollReport:
    return enroll_contacts(actor, sequence_id, filtered_contact_ids(filters), now)


# --- ending, pausing, resuming ---------------------------------------------------------------

def pause_live_enrollment(enrollment: Enrollment, reason: str, until: datetime | None, now: datetime,
                          actor_id: int | None) -> None:
    if enrollment.status != "active":
        return
    # A queued email is withdrawn and its step runs again (re-rendered) after the pause; a
    # manual email's draft stays with its task.
    if enrollment.awaiting == "email" and runner.cancel_pending_mail(enrollment, now):
        enrollment.awaiting, enrollment.pending_email_id = None, None
        enrollment.next_due_at = now
    enrollment.status, enrollment.pause_reason = "paused", reason
    enrollment.paused_at, enrollment.paused_until, enrollment.updated_at = now, until, now
    runner.record_sequence_activity("sequence_paused", enrollment, now, actor_id, reason=reason,
                                    until=until.isoformat() if until else None)
    db.session.flush()


def resume_paused_enrollment(enrollment: Enrollment, now: datetime) -> None:
    """Move every pending date forward by the time spent paused: no backlog fires on return."""
    if enrollment.status != "paused":
        return
    shift = max(timedelta(0), now - (enrollment.paused_at or now))
    if enrollment.next_due_at is not None:
        enrollment.next_due_at = enrollment.next_due_at + shift
        step = enrollment.current_step
        if step is not None and step.is_email:
            enrollment.next_due_at = runner.email_send_moment(enrollment, step, enrollment.next_due_at)
    for task in db.session.scalars(select(SequenceTask).where(SequenceTask.enrollment_id == enrollment.id,
                                                              SequenceTask.done_at.is_(None))):
        task.due_at = task.due_at + shift
    enrollment.status = "active"
    enrollment.pause_reason = enrollment.paused_at = enrollment.paused_until = None
    enrollment.updated_at = now
    db.session.flush()


def stop_enrollment(actor: User, enrollment_id, reason: str, now: datetime) -> Enrollment:
    enrollment = get_enrollment(enrollment_id)
    require_act_on(actor, enrollment)
    if not enrollment.is_live:
        raise Conflict(_("this enrollment is already %(status)s",
                         status=code_label(enrollment.status, "enrollment_status").lower()))
    runner.end_enrollment(enrollment, reason, actor, now)
    return enrollment


def pause_enrollment(actor: User, enrollment_id, until: datetime | None, now: datetime,
                     reason: str = "manual") -> Enrollment:
    enrollment = get_enrollment(enrollment_id)
    require_act_on(actor, enrollment)
    if enrollment.status != "active":
        raise Conflict(_("only an active enrollment can be paused (this one is %(status)s)",
                         status=code_label(enrollment.status, "enrollment_status").lower()))
    _check_until(until, now)
    pause_live_enrollment(enrollment, reason if reason in PAUSE_REASONS else "manual", until, now, actor.id)
    return enrollment


def resume_enrollment(actor: User, enrollment_id, now: datetime) -> Enrollment:
    enrollment = get_enrollment(enrollment_id)
    require_act_on(actor, enrollment)
    if enrollment.status != "paused":
        raise Conflict(_("only a paused enrollment can be resumed (this one is %(status)s)",
                         status=code_label(enrollment.status, "enrollment_status").lower()))
    resume_paused_enrollment(enrollment, now)
    return enrollment


def _check_until(until: datetime | None, now: datetime) -> None:
    if until is not None and (until.tzinfo is None or until <= now or until > now + timedelta(days=366)):
        raise ValidationFailed(_("bad resume date"), {"until": _("a future date within a year")})


def _user_for(actor: User, user_id) -> User:
    user = db.session.get(User, as_id(user_id)) if as_id(user_id) else None
    if user is None:
        raise NotFound(_("no such user"))
    if not can_act_for(actor, user):
        raise PermissionDenied(_("you may not change this rep's enrollments"))
    return user


def pause_all_for_user(actor: User, user_id, until: datetime | None, now: datetime) -> list[int]:
    """A rep's holiday: pause every active enrollment they send."""
    user = _user_for(actor, user_id)
    _check_until(until, now)
    enrollments = db.session.scalars(select(Enrollment).where(Enrollment.user_id == user.id,
                                                              Enrollment.status == "active")).all()
    for enrollment in enrollments:
        pause_live_enrollment(enrollment, "holiday", until, now, actor.id)
    return [e.id for e in enrollments]


def resume_all_for_user(actor: User, user_id, now: datetime) -> list[int]:
    user = _user_for(actor, user_id)
    enrollments = db.session.scalars(select(Enrollment).where(Enrollment.user_id == user.id,
                                                              Enrollment.status == "paused")).all()
    for enrollment in enrollments:
        resume_paused_enrollment(enrollment, now)
    return [e.id for e in enrollments]


def resume_due_pauses(now: datetime) -> int:
    """Worker: resume enrollments whose pause has reached its date (out-of-office return)."""
    due = db.session.scalars(select(Enrollment).where(Enrollment.status == "paused",
                                                      Enrollment.paused_until <= now).limit(500)).all()
    for enrollment in due:
        resume_paused_enrollment(enrollment, now)
    return len(due)


# --- CONTRACT: called by mail, meetings, calls, contacts ----------------------------------------

def stop_enrollments_for(contact, reason: str, actor, now: datetime) -> list[int]:
    """Stop every active or paused enrollment of ``contact`` with ``reason`` (one of
    STOP_REASONS); ``actor`` is a User or None for the system. Returns the stopped ids.
    Flushes, never commits."""
    if reason not in runner.STOP_REASONS:
        raise ValueError(f"unknown stop reason {reason!r}")
    live = db.session.scalars(select(Enrollment).where(Enrollment.contact_id == contact.id,
                                                       Enrollment.status.in_(LIVE_STATUSES))).all()
    for enrollment in live:
        runner.end_enrollment(enrollment, reason, actor, now)
    return [e.id for e in live]


def pause_enrollments_for(contact, reason: str, until: datetime | None, now: datetime) -> list[int]:
    """Pause the contact's active enrollments until ``until``, moving due dates forward on
    resume. Returns the paused ids. Flushes, never commits.

    ``until`` None (no return stated): the configured default, ``SEQUENCE_PAUSE_DEFAULT_DAYS``
    from ``now``. A stated return moment that has already arrived (``until <= now``: "back
    today", or an auto-reply read from a backlog after its date) means the contact is back:
    the pause keeps that moment, so ``resume_due_pauses`` resumes the enrollment at its next
    tick (minutes), never the default weeks later. Pausing briefly rather than not at all keeps
    one path for every auto-reply: the timeline records it, a queued email is withdrawn and
    re-rendered like after any pause, and only the resume job ever resumes."""
    if until is None:
        days = current_app.config.get("SEQUENCE_PAUSE_DEFAULT_DAYS", DEFAULT_PAUSE_DAYS)
        until = now + timedelta(days=days)
    active = db.session.scalars(select(Enrollment).where(Enrollment.contact_id == contact.id,
                                                         Enrollment.status == "active")).all()
    for enrollment in active:
        pause_live_enrollment(enrollment, reason if reason in PAUSE_REASONS else "out_of_office", until, now, None)
    return [e.id for e in active]


# --- lists ------------------------------------------------------------------------------------

def list_enrollments(*, status: str | None = None, reason: str | None = None, user_id: int | None = None,
                     sequence_id: int | None = None, contact_id: int | None = None,
                     page: int = 1, per_page: int = 50) -> Page:
    page, per_page = clamp_page(page, per_page)
    query = select(Enrollment)
    if status in ENROLLMENT_STATUSES:
        query = query.where(Enrollment.status == status)
    if reason:
        query = query.where((Enrollment.stop_reason == reason) | (Enrollment.pause_reason == reason))
    if user_id is not None:
        query = query.where(Enrollment.user_id == user_id)
    if sequence_id is not None:
        query = query.where(Enrollment.sequence_id == sequence_id)
    if contact_id is not None:
        query = query.where(Enrollment.contact_id == contact_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.options(joinedload(Enrollment.contact), joinedload(Enrollment.user),
                      joinedload(Enrollment.sequence), joinedload(Enrollment.current_step))
        .order_by(Enrollment.updated_at.desc(), Enrollment.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)


def live_enrollment_count(sequence_id: int) -> int:
    return db.session.scalar(select(func.count()).where(Enrollment.sequence_id == sequence_id,
                                                        Enrollment.status.in_(LIVE_STATUSES))) or 0
