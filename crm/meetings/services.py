"""The public face of the meetings feature: meeting types, slots, atomic booking, cancel and
reschedule, the rep's booking link (``meeting_link_for``, from ``crm.meetings.links``) and the
rep's meetings as other features see them (``meetings_between``). Services flush and never
commit; booking, moving and cancelling queue their invites in the mail outbox in the same
transaction (``crm.meetings.invites``), so the page, API route or job that commits never talks
SMTP and a mail server that is down can never undo, or lose the invite of, a booking."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from crm.alerts.services import notify
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.contacts.services import (
    create_contact,
    find_contact_by_email,
    find_or_create_company_for_email,
    record_activity,
)
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import N_, browser_language, force_language
from crm.i18n import _ as gettext
from crm.meetings import availability as av
from crm.meetings.calendars import external_busy
from crm.meetings.inputs import (  # noqa: F401  (limits re-exported for the API's schemas)
    MAX_ANSWER,
    MAX_QUESTIONS,
    TYPE_DEFAULTS,
    GuestBooking,
    MeetingTypeCreate,
    MeetingTypeUpdate,
    parse,
)
from crm.meetings.invites import queue_invites
from crm.meetings.links import default_meeting_type, meeting_link_for, public_url  # noqa: F401  (re-exported)
from crm.meetings.models import Meeting, MeetingHostLock, MeetingType, MeetingTypeMember
from crm.meetings.tokens import read_manage_token, read_source_contact, read_source_token
from crm.policy import require_sales
from crm.scoring.services import record_event
from crm.signals import busy_time_requested, meeting_booked
from crm.timeutil import is_valid_timezone
from crm.validation import check_web_url, get_by_id

MAX_DAYS = 62
ROUND_ROBIN_PERIOD = timedelta(days=30)


# --- meeting types: services ------------------------------------------------------------------


def meeting_title(type_name: str, guest_name: str, host: User) -> str:
    """A booked meeting's title, stored as written: in the host's language (the host reads it
    in the CRM and their calendar)."""
    with force_language(getattr(host, "language", None)):
        return gettext("%(meeting_type)s: %(guest)s and %(host)s", meeting_type=type_name, guest=guest_name,
                       host=host.name)[:200]


def _check_members(member_ids: list[int]) -> None:
    """Team members are active sales users (the input model checked the list's shape)."""
    users = db.session.scalars(select(User).where(User.id.in_(member_ids))).all() if member_ids else []
    if len(users) != len(member_ids) or any(u.role not in ("rep", "manager", "admin") or not u.is_active
                                            for u in users):
        raise ValidationFailed(
            gettext("invalid meeting type"), {"member_ids": gettext("every member must be an active sales user")})


def _slug_taken(slug: str, except_id: int | None = None) -> bool:
    query = select(MeetingType.id).where(MeetingType.slug == slug)
    if except_id is not None:
        query = query.where(MeetingType.id != except_id)
    return db.session.scalar(query) is not None


def _set_members(meeting_type: MeetingType, member_ids: list[int]) -> None:
    meeting_type.members = [MeetingTypeMember(user_id=uid) for uid in member_ids]


def _check_video_link(kind: str | None, value: str | None) -> None:
    """A video location is opened by guests from invites, the ICS LOCATION and pages: only an
    http(s) link (the pair is checked as it will be stored, so a PATCH of either half counts)."""
    if kind != "video" or not value:
        return
    try:
        check_web_url(value)
    except ValueError as problem:
        raise ValidationFailed(
            gettext("invalid meeting type"),
            {"location_value": gettext("video link: %(problem)s", problem=problem)}) from None


def create_meeting_type(actor: User, data: dict[str, Any], now: datetime) -> MeetingType:
    """``data`` as a page's form or the API's body gives it, parsed by ``MeetingTypeCreate``.
    :raises ValidationFailed: (invalid meeting type) with every bad field; :raises Conflict: slug taken"""
    require_sales(actor)
    clean = parse(MeetingTypeCreate, data, "invalid meeting type").changes()
    _check_members(clean.get("member_ids", []))
    _check_video_link(clean.get("location_kind", TYPE_DEFAULTS["location_kind"]),
                      clean.get("location_value", TYPE_DEFAULTS["location_value"]))
    if _slug_taken(clean["slug"]):
        raise Conflict(gettext("this link is taken"), {"slug": gettext("already taken")})
    member_ids = clean.pop("member_ids", [])
    meeting_type = MeetingType(owner_id=actor.id, created_at=now, updated_at=now, **{**TYPE_DEFAULTS, **clean})
    db.session.add(meeting_type)
    _set_members(meeting_type, member_ids)
    db.session.flush()
    return meeting_type


def get_own_meeting_type(actor: User, meeting_type_id: Any) -> MeetingType:
    """A type the actor may change: their own; admins may change any."""
    meeting_type = get_by_id(MeetingType, meeting_type_id)
    if meeting_type is None:
        raise NotFound(gettext("no such meeting type"))
    if meeting_type.owner_id != actor.id and actor.role != "admin":
        raise NotFound(gettext("no such meeting type"))  # other reps' types are not even listed
    return meeting_type


def update_meeting_type(actor: User, meeting_type_id: Any, data: dict[str, Any], now: datetime) -> MeetingType:
    """Only the fields in ``data`` change (parsed by ``MeetingTypeUpdate``)."""
    meeting_type = get_own_meeting_type(actor, meeting_type_id)
    clean = parse(MeetingTypeUpdate, data, "invalid meeting type").changes()
    if "member_ids" in clean:
        _check_members(clean["member_ids"])
    _check_video_link(clean.get("location_kind", meeting_type.location_kind),
                      clean.get("location_value", meeting_type.location_value))
    if "slug" in clean and _slug_taken(clean["slug"], except_id=meeting_type.id):
        raise Conflict(gettext("this link is taken"), {"slug": gettext("already taken")})
    if "member_ids" in clean:
        _set_members(meeting_type, clean.pop("member_ids"))
    for key, value in clean.items():
        setattr(meeting_type, key, value)
    meeting_type.updated_at = now
    db.session.flush()
    return meeting_type


def delete_meeting_type(actor: User, meeting_type_id: Any) -> None:
    """Booked meetings stay (their type link is cut)."""
    db.session.delete(get_own_meeting_type(actor, meeting_type_id))
    db.session.flush()


def list_meeting_types(actor: User) -> list[MeetingType]:
    return list(db.session.scalars(
        select(MeetingType).where(MeetingType.owner_id == actor.id).order_by(MeetingType.name, MeetingType.id)))


def public_meeting_type(slug: str) -> MeetingType:
    slug = str(slug or "")[:80].lower()
    meeting_type = db.session.scalar(
        select(MeetingType).where(MeetingType.slug == slug, MeetingType.is_active.is_(True)))
    if meeting_type is None:
        raise NotFound(gettext("no such booking link"))
    return meeting_type


# --- slots ------------------------------------------------------------------------------------

def rules_for(meeting_type: MeetingType) -> av.Rules:
    return av.Rules(
        time_zone=meeting_type.time_zone,
        weekly=av.weekly_ranges(meeting_type.weekly_hours or []),
        duration=timedelta(minutes=meeting_type.duration_minutes),
        increment=timedelta(minutes=meeting_type.increment_minutes),
        buffer_before=timedelta(minutes=meeting_type.buffer_before_minutes),
        buffer_after=timedelta(minutes=meeting_type.buffer_after_minutes),
        min_notice=timedelta(hours=meeting_type.min_notice_hours),
        not_today=meeting_type.not_today,
        horizon_days=meeting_type.horizon_days,
        daily_max=meeting_type.daily_max,
    )


def booked_meetings(host_id: int, start: datetime, end: datetime, *,
                    exclude_id: int | None = None) -> list[av.BookedMeeting]:
    query = (select(Meeting.start_at, Meeting.end_at, Meeting.buffer_before_minutes, Meeting.buffer_after_minutes)
             .where(Meeting.host_id == host_id, Meeting.status == "confirmed",
                    Meeting.start_at < end, Meeting.end_at > start))
    if exclude_id is not None:
        query = query.where(Meeting.id != exclude_id)
    rows = db.session.execute(query)
    return [av.BookedMeeting(s, e, timedelta(minutes=b), timedelta(minutes=a)) for s, e, b, a in rows]


def busy_for(host_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Busy time other features keep (the calls feature's prospecting blocks, asked through
    ``crm.signals.busy_time_requested``) and external calendar events."""
    busy: list[tuple[datetime, datetime]] = []
    for _receiver, intervals in busy_time_requested.send(host_id, start=start, end=end):
        busy.extend(intervals or [])
    return busy + external_busy(host_id, start, end)


def host_free_slots(meeting_type: MeetingType, host_id: int, now: datetime,
                    window_start: datetime, window_end: datetime, *,
                    exclude_meeting_id: int | None = None) -> list[datetime]:
    # Load a day more on each side: buffers reach across the window's edges, and the daily
    # maximum counts whole local days.
    load_start, load_end = window_start - timedelta(days=1), window_end + timedelta(days=1)
    return av.free_slots(
        rules_for(meeting_type), now=now, window_start=window_start, window_end=window_end,
        meetings=booked_meetings(host_id, load_start, load_end, exclude_id=exclude_meeting_id),
        busy=busy_for(host_id, load_start, load_end),
    )


def free_slots_by_host(meeting_type: MeetingType, now: datetime, window_start: datetime,
                       window_end: datetime) -> dict[datetime, list[int]]:
    """Slot start -> hosts free then (one host unless a team link)."""
    result: dict[datetime, list[int]] = {}
    for host_id in meeting_type.host_ids:
        for slot in host_free_slots(meeting_type, host_id, now, window_start, window_end):
            result.setdefault(slot, []).append(host_id)
    return dict(sorted(result.items()))


# Dates further than this from today are refused outright (never a slot, and far dates would
# overflow datetime arithmetic near year 1 or 9999).
MAX_DAYS_FROM_TODAY = 400


def slots_for_days(meeting_type: MeetingType, now: datetime, start_day: date | None, days: int,
                   visitor_tz: str) -> list[datetime]:
    """Free starts on the visitor's dates [start_day, start_day + days)."""
    if not is_valid_timezone(visitor_tz):
        raise ValidationFailed(gettext("invalid time zone"), {"tz": gettext("not a known time zone")})
    days = max(1, min(int(days), MAX_DAYS))
    today = av.local_date(now, visitor_tz)
    start_day = start_day or today
    if abs((start_day - today).days) > MAX_DAYS_FROM_TODAY:
        raise ValidationFailed(
            gettext("invalid start"),
            {"start": gettext("within %(MAX_DAYS_FROM_TODAY)s days of today", MAX_DAYS_FROM_TODAY=MAX_DAYS_FROM_TODAY)})
    window_start, window_end = av.window_for_days(start_day, days, visitor_tz)
    return list(free_slots_by_host(meeting_type, now, window_start, window_end))


# --- booking ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    time_zone: str
    answers: dict[str, str]


def guest_from(meeting_type: MeetingType, data: dict[str, Any]) -> Guest:
    """The guest of a booking from ``data`` (name, email, tz, answers), as the public page or
    the API gives it, parsed by ``GuestBooking`` against the type's questions.
    :raises ValidationFailed: (please check the form) with every bad field"""
    guest = parse(GuestBooking, data, "please check the form", questions=meeting_type.questions or [])
    return Guest(guest.name, guest.email, guest.tz, guest.answers)


def parse_start(value: Any) -> datetime:
    """An ISO 8601 instant with an offset (or Z); naive times are refused, not guessed."""
    text = str(value or "").strip()[:64].replace("Z", "+00:00")
    if "T" in text and " " in text:  # a "+" in a hand-made query string arrives as a space
        text = text.replace(" ", "+")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(gettext("invalid start"), {"start": gettext("an ISO 8601 time with offset")}) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(
            gettext("invalid start"), {"start": gettext("give the offset, e.g. 2026-03-10T09:00:00+01:00")})
    try:
        start = parsed.astimezone(av.UTC)
    except OverflowError:
        raise ValidationFailed(gettext("invalid start"), {"start": gettext("out of range")}) from None
    if not 1900 <= start.year <= 2999:  # the booking checks the real range; this keeps arithmetic safe
        raise ValidationFailed(gettext("invalid start"), {"start": gettext("out of range")})
    return start


def lock_hosts(host_ids: list[int]) -> None:
    """The rep's calendar lock: serialise everything that checks a host's free time and then
    writes to it. Booking and rescheduling take it before their re-check; creating a
    prospecting block (``crm.calls.blocks.create_block``) takes it before checking for booked
    meetings under the block, so a block and a booking racing for one time cannot both win
    (each sees the other's commit, or waits for it). Hold it until the commit; never take it
    twice with different hosts in one transaction (take all at once: the id order is what
    keeps two team links from deadlocking).

    PostgreSQL: make sure each host's lock row exists, then ``SELECT ... FOR UPDATE`` them in
    id order. Under READ COMMITTED every statement after the lock sees what was committed
    before it was granted. SQLite: turn this transaction into a write transaction now
    (``BEGIN IMMEDIATE``), so the re-check and the insert happen with every other writer
    waiting (a transaction that already wrote holds the write lock anyway)."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        raw: Any = connection.connection.dbapi_connection
        if not raw.in_transaction:
            raw.execute("BEGIN IMMEDIATE")
        return
    db.session.execute(
        pg_insert(MeetingHostLock).values([{"user_id": h} for h in host_ids])
        .on_conflict_do_nothing(index_elements=["user_id"]))
    db.session.execute(
        select(MeetingHostLock.user_id).where(MeetingHostLock.user_id.in_(host_ids))
        .order_by(MeetingHostLock.user_id).with_for_update())


def pick_round_robin(meeting_type: MeetingType, candidates: list[int], now: datetime) -> int:
    """Fewest bookings of this type in the last 30 days; ties go to whoever was booked least
    recently (never booked first), then the lowest id for determinism."""
    if len(candidates) == 1:
        return candidates[0]
    rows = db.session.execute(
        select(Meeting.host_id, func.count(Meeting.id), func.max(Meeting.created_at))
        .where(Meeting.meeting_type_id == meeting_type.id, Meeting.host_id.in_(candidates),
               Meeting.status == "confirmed", Meeting.created_at >= now - ROUND_ROBIN_PERIOD)
        .group_by(Meeting.host_id))
    stats = {host: (count, last) for host, count, last in rows}
    epoch = datetime.min.replace(tzinfo=av.UTC)

    def key(host_id: int):
        count, last = stats.get(host_id, (0, None))
        return count, last or epoch, host_id

    return min(candidates, key=key)


def _contact_for_guest(host: User, guest: Guest, now: datetime) -> Contact:
    """Create or update the contact (and its company from the domain) through the contacts
    services, acting as the host so a rep's guest becomes the rep's contact."""
    first, _, last = guest.name.partition(" ")
    contact = find_contact_by_email(guest.email)
    if contact is None:
        return create_contact(host, {
            "email": guest.email, "first_name": first[:100], "last_name": last[:100],
            "time_zone": guest.time_zone, "source": "meeting link", "language": browser_language(),
            "owner_id": host.id if host.role in ("rep", "manager", "admin") else None,
        }, now)
    updates: dict[str, Any] = {}
    if not contact.first_name and not contact.last_name:
        updates.update(first_name=first[:100], last_name=last[:100])
    if not contact.time_zone and guest.time_zone != "UTC":
        updates["time_zone"] = guest.time_zone
    if contact.company_id is None:
        company = find_or_create_company_for_email(guest.email, now)
        if company is not None:
            contact.company_id = company.id
    for key, value in updates.items():
        setattr(contact, key, value)
    contact.updated_at = now
    db.session.flush()
    return contact


def book(meeting_type: MeetingType, start: datetime, guest: Guest, now: datetime, *,
         source_token: str | None = None) -> Meeting:
    """Book ``start`` for the guest: exactly one of any number of concurrent requests for a
    slot wins; the others get ``Conflict``. Side effects: contact, meeting, ``meeting_booked``
    activity, the contact's sequences stopped, the rep alerted, scoring told.
    :raises Conflict: the slot is no longer free; :raises ValidationFailed: never offered."""
    host_ids = meeting_type.host_ids
    lock_hosts(host_ids)
    day_start, day_end = start - timedelta(days=1), start + timedelta(days=1)
    free = free_slots_by_host(meeting_type, now, day_start, day_end)
    if start not in free:
        if _is_offered_ever(meeting_type, start, now):
            raise Conflict(
                gettext("this time was just taken"), {"start": gettext("just taken, please pick another time")})
        raise ValidationFailed(gettext("invalid start"), {"start": gettext("not a bookable time of this link")})
    host_id = pick_round_robin(meeting_type, free[start], now)
    host = db.session.get(User, host_id)
    if host is None:  # a member removed between the slot query and now: the slot is gone
        raise Conflict(gettext("this time was just taken"), {"start": gettext("just taken, please pick another time")})
    contact = _contact_for_guest(host, guest, now)
    enrollment_id, step_id = read_source_token(source_token)
    meeting = Meeting(
        meeting_type_id=meeting_type.id, host_id=host_id, contact_id=contact.id,
        title=meeting_title(meeting_type.name, guest.name, host),
        start_at=start, end_at=start + timedelta(minutes=meeting_type.duration_minutes),
        buffer_before_minutes=meeting_type.buffer_before_minutes,
        buffer_after_minutes=meeting_type.buffer_after_minutes,
        status="confirmed", uid=f"{uuid.uuid4()}@{current_app.config.get('MAIL_FROM_DOMAIN', 'crm.localhost')}",
        sequence=0, guest_name=guest.name, guest_email=guest.email, guest_time_zone=guest.time_zone,
        answers=guest.answers, location_kind=meeting_type.location_kind,
        location_value=meeting_type.location_value,
        source_enrollment_id=enrollment_id, source_step_id=step_id, created_at=now, updated_at=now,
    )
    # In a savepoint: a refusal by the database leaves the caller's session usable (the API
    # answers the loser with fresh slots).
    try:
        with db.session.begin_nested():
            db.session.add(meeting)
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            gettext("this time was just taken"), {"start": gettext("just taken, please pick another time")}) from None
    _after_booking(meeting, contact, meeting_type, now)
    queue_invites(meeting, "REQUEST", now)
    return meeting


def _flush_or_conflict() -> None:
    """The exclusion constraint is the last line: should any path skip the lock, PostgreSQL
    still refuses the overlap, and the caller (which rolls back) sees the same 409."""
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(
            gettext("this time was just taken"), {"start": gettext("just taken, please pick another time")}) from None


def _is_offered_ever(meeting_type: MeetingType, start: datetime, now: datetime) -> bool:
    """Is ``start`` on the link's grid and still bookable by its rules (so someone or
    something took it: 409), or was it never a slot (bad input: 422)?"""
    rules = rules_for(meeting_type)
    local = av.local_date(start, rules.time_zone)
    today = av.local_date(now, rules.time_zone)
    first_day = today + timedelta(days=1 if rules.not_today else 0)
    within_dates = first_day <= local < today + timedelta(days=rules.horizon_days)
    return within_dates and start >= now + rules.min_notice and start in av.day_candidates(rules, local)


def _after_booking(meeting: Meeting, contact: Contact, meeting_type: MeetingType, now: datetime) -> None:
    """The timeline entry, then ``meeting_booked`` (sequences stop the contact's enrollments),
    the host's alert and the scoring event."""
    record_activity("meeting_booked", now, contact_id=contact.id, company_id=contact.company_id,
                    user_id=meeting.host_id, details={
                        "meeting_id": meeting.id, "title": meeting.title,
                        "start": meeting.start_at.isoformat(), "end": meeting.end_at.isoformat(),
                        "meeting_type": meeting_type.name, "enrollment_id": meeting.source_enrollment_id,
                        "step_id": meeting.source_step_id,
                        # the guest's answers to the booking questions, by their labels (the timeline shows them)
                        **_answers_detail(meeting_type, meeting.answers or {})})
    meeting_booked.send(meeting.id, contact=contact, now=now)
    # The alert is read by the host: the time in the host's zone, named.
    host = db.session.get(User, meeting.host_id)
    host_zone = host.time_zone if host is not None and is_valid_timezone(host.time_zone) else "UTC"
    local_start = meeting.start_at.astimezone(ZoneInfo(host_zone))
    notify(meeting.host_id, "meeting_booked",
           N_("%(guest)s booked %(meeting_type)s on %(when)s (%(zone)s)"),
           params={"guest": meeting.guest_name, "meeting_type": meeting_type.name,
                   "when": f"{local_start:%Y-%m-%d %H:%M}", "zone": host_zone},
           now=now, contact_id=contact.id, url=f"/meetings?focus={meeting.id}")
    record_event(contact.id, "meeting_booked", now)


def _answers_detail(meeting_type: MeetingType, answers: dict) -> dict[str, str]:
    labels = {q.get("key"): q.get("label") or q.get("key") for q in (meeting_type.questions or [])}
    lines = [f"{labels.get(key, key)}: {value}" for key, value in answers.items() if str(value or "").strip()]
    return {"answer": "\n".join(lines)[:2000]} if lines else {}


def prospect_for_link(source_token: str | None) -> tuple[str, str] | None:
    """(name, email) of the contact a sequence's signed meeting link was sent to, to prefill
    the booking form; None for a plain link."""
    contact_id = read_source_contact(source_token)
    contact = db.session.get(Contact, contact_id) if contact_id else None
    if contact is None:
        return None
    return contact.full_name, contact.email


# --- cancel and reschedule --------------------------------------------------------------------

def meeting_by_token(token: str) -> Meeting:
    found = read_manage_token(token)
    meeting = db.session.get(Meeting, found[0]) if found and 0 < found[0] <= 2**31 - 1 else None
    if found is None or meeting is None or meeting.uid != found[1]:
        raise NotFound(gettext("this link is not valid"))
    return meeting


def cancel_meeting(meeting: Meeting, now: datetime, *, reason: str = "", by_user: User | None = None) -> Meeting:
    """Cancel (idempotent): the invite update (METHOD:CANCEL, same UID, SEQUENCE + 1) is queued
    in this transaction, once."""
    if meeting.status == "cancelled":
        return meeting
    meeting.status, meeting.cancelled_at = "cancelled", now
    meeting.cancel_reason = (reason or "").strip()[:500] or None
    meeting.sequence += 1
    meeting.updated_at = now
    db.session.flush()
    if meeting.contact_id:
        record_activity("meeting_cancelled", now, contact_id=meeting.contact_id,
                        user_id=by_user.id if by_user else None,
                        details={"meeting_id": meeting.id, "title": meeting.title,
                                 "start": meeting.start_at.isoformat(), "by": "rep" if by_user else "guest",
                                 "reason": meeting.cancel_reason})
    queue_invites(meeting, "CANCEL", now)
    return meeting


def cancel_as_user(actor: User, meeting_id: Any, now: datetime, reason: str = "") -> Meeting:
    meeting = get_meeting_for(actor, meeting_id)
    return cancel_meeting(meeting, now, reason=reason, by_user=actor)


def reschedule(meeting: Meeting, start: datetime, now: datetime) -> Meeting:
    """Move the meeting to ``start`` with the same host (same UID, SEQUENCE + 1); the updated
    invites are queued in this transaction.
    :raises Conflict: that time is not free"""
    if meeting.status != "confirmed":
        raise Conflict(gettext("this meeting was cancelled"), {"start": gettext("the meeting is cancelled")})
    if meeting.start_at <= now:
        raise Conflict(gettext("this meeting has already started"), {"start": gettext("too late to reschedule")})
    meeting_type = meeting.meeting_type
    if meeting_type is None:
        raise Conflict(gettext("this booking link no longer exists"), {"start": gettext("cannot reschedule")})
    lock_hosts([meeting.host_id])
    # The meeting's own time must not block its new time.
    free = host_free_slots(meeting_type, meeting.host_id, now, start - timedelta(days=1),
                           start + timedelta(days=1), exclude_meeting_id=meeting.id)
    if start not in free:
        raise Conflict(gettext("this time was just taken"), {"start": gettext("just taken, please pick another time")})
    old_start = meeting.start_at
    meeting.start_at, meeting.end_at = start, start + (meeting.end_at - meeting.start_at)
    meeting.sequence += 1
    meeting.updated_at = now
    _flush_or_conflict()
    if meeting.contact_id:
        record_activity("meeting_rescheduled", now, contact_id=meeting.contact_id, user_id=None,
                        details={"meeting_id": meeting.id, "title": meeting.title,
                                 "from": old_start.isoformat(), "start": start.isoformat()})
    queue_invites(meeting, "REQUEST", now, rescheduled=True)
    return meeting


def reschedule_slots(meeting: Meeting, now: datetime, start_day: date | None, days: int, tz: str) -> list[datetime]:
    """Free times for moving the meeting (its own time counts as free)."""
    meeting_type = meeting.meeting_type
    if meeting_type is None or meeting.status != "confirmed":
        return []
    window_start, window_end = av.window_for_days(start_day or av.local_date(now, tz), max(1, min(days, MAX_DAYS)), tz)
    return host_free_slots(meeting_type, meeting.host_id, now, window_start, window_end,
                           exclude_meeting_id=meeting.id)


# --- reading ----------------------------------------------------------------------------------

def get_meeting_for(actor: User, meeting_id: Any) -> Meeting:
    """A meeting the actor hosts; managers see their team's, admins all."""
    meeting = get_by_id(Meeting, meeting_id)
    if meeting is None or not can_see(actor, meeting):
        raise NotFound(gettext("no such meeting"))
    return meeting


def can_see(actor: User, meeting: Meeting) -> bool:
    if actor.role == "admin" or meeting.host_id == actor.id:
        return True
    return actor.role == "manager" and meeting.host is not None and meeting.host.manager_id == actor.id


def list_meetings(actor: User, *, scope: str, now: datetime, limit: int = 100) -> list[Meeting]:
    if actor.role not in ("rep", "manager", "admin"):
        raise PermissionDenied(gettext("only sales users have meetings"))
    query = select(Meeting).where(Meeting.host_id == actor.id)
    if scope == "past":
        query = query.where(Meeting.start_at < now).order_by(Meeting.start_at.desc())
    else:
        query = query.where(Meeting.start_at >= now).order_by(Meeting.start_at)
    return list(db.session.scalars(query.order_by(Meeting.id).limit(limit)))


def contact_meetings(contact_id: int, limit: int = 10) -> list[Meeting]:
    return list(db.session.scalars(
        select(Meeting).where(Meeting.contact_id == contact_id)
        .order_by(Meeting.start_at.desc(), Meeting.id.desc()).limit(limit)))


# --- meetings as other features see them (the calls feature's calendar page and ICS feed) ----

@dataclass(frozen=True)
class MeetingView:
    id: int
    title: str
    start: datetime  # aware UTC
    end: datetime
    contact_id: int | None
    # The meeting's one UID and its SEQUENCE, the same as in its invites: a calendar that has
    # the invite and subscribes to the feed shows the meeting once.
    uid: str = ""
    sequence: int = 0


def meetings_between(user_id: int, start: datetime, end: datetime) -> list[MeetingView]:
    """The user's confirmed (not cancelled) meetings overlapping [start, end)."""
    rows = db.session.execute(
        select(Meeting.id, Meeting.title, Meeting.start_at, Meeting.end_at, Meeting.contact_id, Meeting.uid,
               Meeting.sequence)
        .where(Meeting.host_id == user_id, Meeting.status == "confirmed",
               Meeting.start_at < end, Meeting.end_at > start)
        .order_by(Meeting.start_at, Meeting.id)
    )
    return [MeetingView(*row) for row in rows]
