"""JSON API routes of the meetings feature (``routes``, mounted on /api/v1 from the manifest): the public slots and
booking (no token, rate-limited per IP) and the rep's meeting types and meetings."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from flask import current_app, jsonify
from pydantic import Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, QueryModel, StrictModel, Text, TimeZoneName, UtcDateTime
from crm.errors import Conflict, ServiceError, ValidationFailed
from crm.extensions import db, limiter
from crm.i18n import _
from crm.meetings import services
from crm.meetings.invites import manage_url
from crm.timeutil import utcnow
from crm.validation import check_web_url
from crm.web.access import SALES, public, roles

routes = ApiRoutes()


def _slots_limit() -> str:
    return current_app.config.get("MEETING_SLOTS_RATE_LIMIT", "120 per minute")


def _booking_limit() -> str:
    return current_app.config.get("MEETING_BOOKING_RATE_LIMIT", "30 per minute")


# --- public -----------------------------------------------------------------------------------

class SlotsQuery(QueryModel):
    start: date | None = Field(None, description="first day (YYYY-MM-DD) in `tz`; default today there")
    days: int = Field(7, ge=1, le=services.MAX_DAYS)
    tz: TimeZoneName = Field("UTC", description="the visitor's IANA zone, e.g. America/New_York")


class SlotsOut(OutModel):
    slug: str
    name: str
    duration_minutes: int
    time_zone: str = Field(description="the zone the slots are expressed in (tz)")
    slots: list[str] = Field(description="ISO 8601 starts with the visitor's offset")


class BookingIn(StrictModel):
    start: Text(64) = Field(description="a slot start as returned by the slots route (ISO 8601 with offset)")
    name: Text(200, min_length=1)
    email: Text(254, min_length=3)
    tz: TimeZoneName = "UTC"
    answers: dict[Annotated[str, Field(max_length=20)], Text(services.MAX_ANSWER)] = Field(
        default_factory=dict, max_length=services.MAX_QUESTIONS)
    source: Text(500) | None = Field(None, description="the signed `src` token of a sequence link")


class BookingOut(OutModel):
    meeting_id: int
    start: str
    end: str
    uid: str
    manage_url: str


def iso_in(slots, tz: str) -> list[str]:
    zone = ZoneInfo(tz)
    return [slot.astimezone(zone).isoformat() for slot in slots]


def fresh_slots(meeting_type, tz: str) -> list[str]:
    try:
        return iso_in(services.slots_for_days(meeting_type, utcnow(), None, 7, tz), tz)
    except ServiceError:
        return iso_in(services.slots_for_days(meeting_type, utcnow(), None, 7, "UTC"), "UTC")


@routes.get("/booking/<slug>/slots")
@public
@limiter.limit(_slots_limit)
@endpoint("Free slots of a booking link", query=SlotsQuery, response=SlotsOut,
          description="Public. Starts on the visitor's days [start, start+days) in `tz`.")
def booking_slots(slug: str, query: SlotsQuery):
    meeting_type = services.public_meeting_type(slug)
    slots = services.slots_for_days(meeting_type, utcnow(), query.start, query.days, query.tz)
    return SlotsOut(slug=meeting_type.slug, name=meeting_type.name, duration_minutes=meeting_type.duration_minutes,
                    time_zone=query.tz, slots=iso_in(slots, query.tz))


@routes.post("/booking/<slug>")
@public
@limiter.limit(_booking_limit)
@endpoint("Book a slot", body=BookingIn, response=BookingOut, status=201,
          description="Public. 409 `conflict` with fresh `slots` when the time was just taken; "
                      "422 for bad input or a time the link never offers.")
def book_slot(slug: str, body: BookingIn):
    meeting_type = services.public_meeting_type(slug)
    guest = services.guest_from(meeting_type, body.model_dump(include={"name", "email", "tz", "answers"}))
    start = services.parse_start(body.start)
    now = utcnow()
    try:
        meeting = services.book(meeting_type, start, guest, now, source_token=body.source)
    except Conflict as exc:
        # Nothing of the loser is kept: the request's session is discarded unsaved at teardown.
        response = jsonify({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields},
                            "slots": fresh_slots(services.public_meeting_type(slug), guest.time_zone)})
        response.status_code = 409
        return response
    db.session.commit()
    return booking_out(meeting, guest.time_zone)


def booking_out(meeting, tz: str) -> BookingOut:
    start, end = iso_in([meeting.start_at, meeting.end_at], tz)
    return BookingOut(meeting_id=meeting.id, start=start, end=end, uid=meeting.uid, manage_url=manage_url(meeting))


# --- rep side: meeting types ------------------------------------------------------------------

HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]


class WeeklyHoursIn(StrictModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    start: HHMM
    end: HHMM


class QuestionIn(StrictModel):
    label: Text(200, min_length=1)
    required: bool = False


class MeetingTypeIn(StrictModel):
    """A booking link of the caller. Weekly hours are in `time_zone`."""

    name: Text(120, min_length=1)
    slug: Text(80, min_length=3) = Field(description="public address /meet/<slug>; lower-case, digits, dashes")
    duration_minutes: int = Field(ge=5, le=720)
    time_zone: TimeZoneName
    weekly_hours: list[WeeklyHoursIn] = Field(min_length=1, max_length=70)
    description: Text(2000) = ""
    buffer_before_minutes: int = Field(0, ge=0, le=240)
    buffer_after_minutes: int = Field(0, ge=0, le=240)
    min_notice_hours: int = Field(4, ge=0, le=24 * 60)
    not_today: bool = False
    horizon_days: int = Field(30, ge=1, le=365)
    increment_minutes: int = Field(30, ge=5, le=720)
    daily_max: int | None = Field(None, ge=1, le=100)
    location_kind: Literal["video", "phone", "address", "none"] = "video"
    location_value: Text(500) = Field("", description="for `video`: the http(s) address of the call")
    questions: list[QuestionIn] = Field(default_factory=list, max_length=services.MAX_QUESTIONS)
    member_ids: list[Id] = Field(default_factory=list, max_length=50,
                                 description="team link: round-robin among these users")
    is_active: bool = True


class MeetingTypePatch(StrictModel):
    """Partial update: only the fields sent change."""

    name: Text(120, min_length=1) | None = None
    slug: Text(80, min_length=3) | None = None
    duration_minutes: int | None = Field(None, ge=5, le=720)
    time_zone: TimeZoneName | None = None
    weekly_hours: list[WeeklyHoursIn] | None = Field(None, min_length=1, max_length=70)
    description: Text(2000) | None = None
    buffer_before_minutes: int | None = Field(None, ge=0, le=240)
    buffer_after_minutes: int | None = Field(None, ge=0, le=240)
    min_notice_hours: int | None = Field(None, ge=0, le=24 * 60)
    not_today: bool | None = None
    horizon_days: int | None = Field(None, ge=1, le=365)
    increment_minutes: int | None = Field(None, ge=5, le=720)
    daily_max: int | None = Field(None, ge=1, le=100)
    location_kind: Literal["video", "phone", "address", "none"] | None = None
    location_value: Text(500) | None = None
    questions: list[QuestionIn] | None = Field(None, max_length=services.MAX_QUESTIONS)
    member_ids: list[Id] | None = Field(None, max_length=50)
    is_active: bool | None = None


class WeeklyHoursOut(OutModel):
    weekday: int
    start: str
    end: str


class QuestionOut(OutModel):
    key: str
    label: str
    required: bool


class MeetingTypeOut(OutModel):
    id: int
    owner_id: int
    name: str
    slug: str
    url: str
    description: str
    duration_minutes: int
    time_zone: str
    weekly_hours: list[WeeklyHoursOut]
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_hours: int
    not_today: bool
    horizon_days: int
    increment_minutes: int
    daily_max: int | None
    location_kind: str
    location_value: str
    questions: list[QuestionOut]
    member_ids: list[int]
    is_active: bool


class MeetingTypeList(OutModel):
    items: list[MeetingTypeOut]


def type_out(meeting_type) -> MeetingTypeOut:
    data: dict[str, Any] = {c.name: getattr(meeting_type, c.name) for c in meeting_type.__table__.columns}
    data.update(url=services.public_url(meeting_type.slug), member_ids=[m.user_id for m in meeting_type.members])
    return MeetingTypeOut.model_validate(data)


def check_location(kind: str | None, value: str | None) -> None:
    """A video location is a link guests open (invites, the ICS LOCATION, the manage page):
    only an http(s) address, never ``javascript:`` or ``data:``. Phone numbers and addresses
    are plain text. :raises ValidationFailed: on ``location_value``"""
    if kind == "video" and value:
        try:
            check_web_url(value, max_length=500)
        except ValueError as exc:
            raise ValidationFailed(
                _("invalid meeting type"), {"location_value": _("the video link: %(exc)s", exc=exc)}) from None


def _type_data(body) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    if "questions" in data and data["questions"] is not None:
        data["questions"] = [q for q in data["questions"]]
    return {k: v for k, v in data.items() if v is not None or k == "daily_max"}


@routes.get("/meeting-types")
@roles(*SALES)
@endpoint("List my meeting types", response=MeetingTypeList)
def list_meeting_types():
    return MeetingTypeList(items=[type_out(t) for t in services.list_meeting_types(api_user())])


@routes.post("/meeting-types")
@roles(*SALES)
@endpoint("Create a meeting type (mine)", body=MeetingTypeIn, response=MeetingTypeOut, status=201)
def create_meeting_type(body: MeetingTypeIn):
    check_location(body.location_kind, body.location_value)
    meeting_type = services.create_meeting_type(api_user(), _type_data(body), utcnow())
    db.session.commit()
    return type_out(meeting_type)


@routes.get("/meeting-types/<int:meeting_type_id>")
@roles(*SALES)
@endpoint("Read a meeting type", response=MeetingTypeOut)
def get_meeting_type(meeting_type_id: int):
    return type_out(services.get_own_meeting_type(api_user(), meeting_type_id))


@routes.patch("/meeting-types/<int:meeting_type_id>")
@roles(*SALES)
@endpoint("Update a meeting type", body=MeetingTypePatch, response=MeetingTypeOut)
def update_meeting_type(meeting_type_id: int, body: MeetingTypePatch):
    if body.location_kind is not None or body.location_value is not None:
        # A patch may change one of the pair: check the pair as it will be stored.
        stored = services.get_own_meeting_type(api_user(), meeting_type_id)
        check_location(body.location_kind or stored.location_kind,
                       stored.location_value if body.location_value is None else body.location_value)
    meeting_type = services.update_meeting_type(api_user(), meeting_type_id, _type_data(body), utcnow())
    db.session.commit()
    return type_out(meeting_type)


@routes.delete("/meeting-types/<int:meeting_type_id>")
@roles(*SALES)
@endpoint("Delete a meeting type", status=204, description="Booked meetings stay.")
def delete_meeting_type(meeting_type_id: int):
    services.delete_meeting_type(api_user(), meeting_type_id)
    db.session.commit()


# --- rep side: meetings -----------------------------------------------------------------------

class MeetingsQuery(QueryModel):
    scope: Literal["upcoming", "past"] = "upcoming"


class MeetingOut(OutModel):
    id: int
    meeting_type_id: int | None
    host_id: int
    contact_id: int | None
    title: str
    start_at: UtcDateTime
    end_at: UtcDateTime
    status: str
    uid: str
    sequence: int
    guest_name: str
    guest_email: str
    guest_time_zone: str
    answers: dict[str, str]
    location_kind: str
    location_value: str
    source_enrollment_id: int | None
    source_step_id: int | None
    cancelled_at: UtcDateTime | None


class MeetingList(OutModel):
    items: list[MeetingOut]


class CancelIn(StrictModel):
    reason: Text(500) = ""


@routes.get("/meetings")
@roles(*SALES)
@endpoint("List my meetings", query=MeetingsQuery, response=MeetingList,
          description="`upcoming` (soonest first) or `past` (latest first), at most per_page.")
def list_meetings(query: MeetingsQuery):
    items = services.list_meetings(api_user(), scope=query.scope, now=utcnow(), limit=query.per_page)
    return MeetingList(items=[MeetingOut.model_validate(m) for m in items])


@routes.get("/meetings/<int:meeting_id>")
@roles(*SALES)
@endpoint("Read a meeting", response=MeetingOut)
def get_meeting(meeting_id: int):
    return MeetingOut.model_validate(services.get_meeting_for(api_user(), meeting_id))


@routes.post("/meetings/<int:meeting_id>/cancel")
@roles(*SALES)
@endpoint("Cancel a meeting", body=CancelIn, response=MeetingOut,
          description="Queues METHOD:CANCEL for the guest and the host (sent by the outbox). Cancelling twice is "
                      "harmless: the second sends nothing.")
def cancel_meeting(meeting_id: int, body: CancelIn):
    now = utcnow()
    meeting = services.get_meeting_for(api_user(), meeting_id)
    services.cancel_meeting(meeting, now, reason=body.reason, by_user=api_user())
    db.session.commit()
    return MeetingOut.model_validate(meeting)
