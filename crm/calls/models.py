"""Tables of the calls feature: prospecting time blocks, per-rep call settings (calls per hour,
the secret calendar feed token), the daily call queue, callbacks and follow-up tasks, team call
and team call scripts. (Recordings of calls are the recordings feature's: ``crm.recordings``.)"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, Time, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.contacts.models import Activity, Contact
from crm.extensions import db
from crm.i18n import N_, _l
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

# The queue reads "converted since the last working day" and plan-vs-actual reads a rep's
# calls in a date range: both are a range of one kind of activity, so the timeline gets a
# (kind, occurred_at) index (created by the calls migration).
Index("ix_activities_kind_time", Activity.kind, Activity.occurred_at)

OUTCOMES = ("connected", "voicemail", "no_answer", "wrong_number", "not_interested",
            "meeting_booked", "callback")
# Stored in English in the call's details (``outcome_label``); translated where shown (_()).
OUTCOME_LABELS = {
    "connected": N_("Connected"), "voicemail": N_("Left voicemail"), "no_answer": N_("No answer"),
    "wrong_number": N_("Wrong number"), "not_interested": N_("Not interested"),
    "meeting_booked": N_("Meeting booked"), "callback": N_("Call back later"),
}
# The pill before each queue entry's reason: a word that says why without repeating the reason
# (which starts with its own words: "promised for Tue 14:00", "67 points, ..."). A reply and a
# form are "hot", not "converted": a plain lead who replied has converted to nothing yet.
REASON_LABELS = {
    "live_intent": _l("Live intent"), "call_task": _l("Sequence step"), "converted": _l("Hot lead"),
    "callback": _l("Callback"), "score": _l("Ranked"),
}
CONNECTED_OUTCOMES = ("connected", "not_interested", "meeting_booked", "callback")
ENTRY_STATUSES = ("queued", "done", "skipped")
# How a queue entry's status reads on My day (the manifest's ``code_labels``; ``crm.i18n.code_label``).
CODE_LABELS = {"call_entry_status": {"queued": _l("in the queue"), "done": _l("done"), "skipped": _l("skipped")}}


class TimeBlock(db.Model):
    """Prospecting time. Recurring blocks repeat on ``weekdays`` (digits, Monday=0) between
    ``valid_from`` and ``valid_until``; one-off blocks happen once ``on_date``. Times are local
    wall-clock times in ``time_zone`` (the rep's zone when the block was made), so a 09:00
    block stays at 09:00 across daylight-saving changes."""

    __tablename__ = "call_time_blocks"
    __table_args__ = (
        CheckConstraint("kind IN ('recurring', 'one_off')", name="kind"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        CheckConstraint("kind <> 'one_off' OR on_date IS NOT NULL", name="one_off_has_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100), default="Prospecting")
    kind: Mapped[str] = mapped_column(String(10))
    weekdays: Mapped[str] = mapped_column(String(7), default="")
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    time_zone: Mapped[str] = mapped_column(String(64))
    on_date: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallSettings(db.Model):
    """One row per rep, created on first use."""

    __tablename__ = "call_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    calls_per_hour: Mapped[int] = mapped_column(default=12)
    # The secret of the rep's ICS feed URL (like Google's "secret address"): shown on the
    # blocks page, replaced by "regenerate", compared in constant time.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    feed_token_created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The rep-local day the morning job last built the queue for (it builds once a day).
    queue_built_on: Mapped[date | None] = mapped_column(Date)


class CallQueueEntry(db.Model):
    """One contact in a rep's queue for one (rep-local) day, in priority order."""

    __tablename__ = "call_queue_entries"
    __table_args__ = (
        # One open entry per contact and day (a contact called in the morning may come back
        # as a promised callback in the afternoon, so done entries do not count).
        Index("uq_call_queue_open_contact", "user_id", "queue_date", "contact_id", unique=True,
              sqlite_where=text("status = 'queued'"), postgresql_where=text("status = 'queued'")),
        Index("ix_call_queue_user_day_position", "user_id", "queue_date", "position"),
        CheckConstraint("status IN ('queued', 'done', 'skipped')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    queue_date: Mapped[date] = mapped_column(Date)
    position: Mapped[int]
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    reason_code: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(300))
    priority: Mapped[float]
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Outside the contact's calling hours: the entry waits until then (not dropped).
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    task_id: Mapped[int | None]  # a sequence call task (crm.sequences.tasks), completed on logging
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("call_tasks.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    outcome: Mapped[str | None] = mapped_column(String(20))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"))
    logged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship()


class CallTask(db.Model):
    """A promised callback (queued at its time) or a follow-up task from a logged call."""

    __tablename__ = "call_tasks"
    __table_args__ = (
        CheckConstraint("kind IN ('callback', 'follow_up')", name="kind"),
        Index("ix_call_tasks_user_open_due", "user_id", "done_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship()


class CallScript(db.Model):
    """A team call script: an opener/talk track and objection handling (objection -> answer)."""

    __tablename__ = "call_scripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text, default="")
    objections: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    position: Mapped[int] = mapped_column(default=0)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
