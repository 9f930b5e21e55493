"""Tables of the meetings feature: meeting types (a rep's or a team's booking link), booked
meetings, a per-host lock row that serialises bookings, and external calendars whose busy
time is cached as rows.

No double booking is enforced by the database: on PostgreSQL an exclusion constraint refuses
two confirmed meetings of one host whose times overlap (``btree_gist`` gives ``=`` on integers
a GiST operator class); on SQLite, where no such constraint exists, bookings run in a write
transaction (``BEGIN IMMEDIATE``) that re-checks. Buffers and the daily maximum cannot be
expressed as a constraint, so on both databases the host's lock row is taken first.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    column,
    event,
    func,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

LOCATION_KINDS = ("video", "phone", "address", "none")
MEETING_STATUSES = ("confirmed", "cancelled")
CALENDAR_KINDS = ("url", "file")


class MeetingType(db.Model):
    """One bookable link. ``weekly_hours`` holds ``{"weekday": 0-6 (Monday 0), "start": "HH:MM",
    "end": "HH:MM"}`` ranges in ``time_zone``; ``questions`` holds ``{"key", "label",
    "required"}``. With members, it is a team link assigned round-robin among them."""

    __tablename__ = "meeting_types"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 720", name="duration"),
        CheckConstraint("location_kind IN ('video', 'phone', 'address', 'none')", name="location_kind"),
        CheckConstraint("slug = lower(slug)", name="slug_lower"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int]
    time_zone: Mapped[str] = mapped_column(String(64))
    weekly_hours: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    buffer_before_minutes: Mapped[int] = mapped_column(default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(default=0)
    min_notice_hours: Mapped[int] = mapped_column(default=4)
    not_today: Mapped[bool] = mapped_column(default=False)
    horizon_days: Mapped[int] = mapped_column(default=30)
    increment_minutes: Mapped[int] = mapped_column(default=30)
    daily_max: Mapped[int | None]
    location_kind: Mapped[str] = mapped_column(String(16), default="video")
    location_value: Mapped[str] = mapped_column(String(500), default="")
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()
    members: Mapped[list["MeetingTypeMember"]] = relationship(
        cascade="all, delete-orphan", order_by="MeetingTypeMember.user_id")

    @property
    def is_team(self) -> bool:
        return bool(self.members)

    @property
    def host_ids(self) -> list[int]:
        """Who can be booked: the team members, else the owner."""
        return [m.user_id for m in self.members] or [self.owner_id]


class MeetingTypeMember(db.Model):
    """A rep in a team link's round-robin."""

    __tablename__ = "meeting_type_members"

    meeting_type_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_types.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Meeting(db.Model):
    """A booked meeting. ``uid`` is the iCalendar UID (stable across reschedules);
    ``sequence`` is the iCalendar SEQUENCE, raised on every change the guest is told about.
    The buffers are copied from the type at booking so editing a type never moves old meetings."""

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="time_order"),
        CheckConstraint("status IN ('confirmed', 'cancelled')", name="status"),
        Index("ix_meetings_host_start", "host_id", "start_at"),
        Index("ix_meetings_type_created", "meeting_type_id", "created_at"),
        ExcludeConstraint(
            (column("host_id"), "="),
            (func.tstzrange(column("start_at"), column("end_at")), "&&"),
            name="meetings_no_overlap", using="gist", where="status = 'confirmed'",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_type_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_types.id", ondelete="SET NULL"))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    buffer_before_minutes: Mapped[int] = mapped_column(default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    uid: Mapped[str] = mapped_column(String(120), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    guest_name: Mapped[str] = mapped_column(String(200))
    guest_email: Mapped[str] = mapped_column(String(254))
    guest_time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    location_kind: Mapped[str] = mapped_column(String(16), default="none")
    location_value: Mapped[str] = mapped_column(String(500), default="")
    source_enrollment_id: Mapped[int | None]
    source_step_id: Mapped[int | None]
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    host: Mapped[User] = relationship()
    meeting_type: Mapped[MeetingType | None] = relationship()


class MeetingHostLock(db.Model):
    """One row per bookable user, locked (``SELECT ... FOR UPDATE``) while a booking for that
    user re-checks buffers and the daily maximum, so those rules hold under concurrency too."""

    __tablename__ = "meeting_host_locks"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class ExternalCalendar(db.Model):
    """A rep's outside calendar: an ICS feed URL refreshed by the worker, or an uploaded file.
    Its busy time is expanded (recurrences included) into ``ExternalBusy`` rows."""

    __tablename__ = "external_calendars"
    __table_args__ = (CheckConstraint("kind IN ('url', 'file')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8))
    url: Mapped[str | None] = mapped_column(String(2000))
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    event_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExternalBusy(db.Model):
    __tablename__ = "external_busy"
    __table_args__ = (Index("ix_external_busy_user_start", "user_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("external_calendars.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The exclusion constraint needs btree_gist (GiST "=" on integers). Creating the extension
# before the table keeps create_all (tests) and the migration equivalent.
event.listen(
    Meeting.__table__, "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql"),
)
