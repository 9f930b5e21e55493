"""Tables of the sequences feature: the team's email templates, sequences and their steps,
enrollments (one contact walking through one sequence) and the tasks steps create for reps.

An enrollment remembers which steps it has *done* (``completed_step_ids``) rather than a
position number, so editing an active sequence (reordering, inserting, deleting steps) never
re-sends a step that already went out: only steps not yet done are affected.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.extensions import db
from crm.i18n import _l
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

# A step's kinds, with the labels the builder shows: the one list forms, the API and the input
# model read (and the table's check constraint below).
STEP_KIND_LABELS = {"auto_email": "Automatic email", "manual_email": "Manual email (you edit, then send)",
                    "call": "Call task", "social": "Social task (e.g. connect on LinkedIn)"}
STEP_KINDS = tuple(STEP_KIND_LABELS)
EMAIL_KINDS = ("auto_email", "manual_email")
MAX_DELAY_DAYS = 365  # business days a step may wait after the previous one
TASK_KINDS = ("call", "social", "manual_email")
ENROLLMENT_STATUSES = ("active", "paused", "finished", "stopped")
LIVE_STATUSES = ("active", "paused")
# How the codes read on pages (the manifest's ``code_labels``; ``crm.i18n.code_label``): an
# enrollment's status, why it stopped (``runner.STOP_REASONS``) or paused
# (``enrollments.PAUSE_REASONS``).
CODE_LABELS = {
    "enrollment_status": {"active": _l("Active"), "paused": _l("Paused"), "finished": _l("Finished"),
                          "stopped": _l("Stopped")},
    "enrollment_stop_reason": {"replied": _l("replied"), "bounced": _l("bounced"), "unsubscribed": _l("unsubscribed"),
                               "meeting_booked": _l("meeting booked"), "manual": _l("by hand"),
                               "contact_deleted": _l("contact deleted")},
    "enrollment_pause_reason": {"out_of_office": _l("out of office"), "manual": _l("by hand"),
                                "holiday": _l("holiday")},
}
DEFAULT_SEND_DAYS = [0, 1, 2, 3, 4]  # Monday..Friday (datetime.weekday numbers)


class EmailTemplate(db.Model):
    __tablename__ = "email_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User | None] = relationship()


class Sequence(db.Model):
    __tablename__ = "sequences"
    __table_args__ = (
        CheckConstraint("window_start_minute >= 0 AND window_start_minute < window_end_minute "
                        "AND window_end_minute <= 1440", name="send_window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The send window, in the CONTACT's time zone: weekdays (0 = Monday) and minutes of the day.
    send_days: Mapped[list[int]] = mapped_column(JSONType, default=lambda: list(DEFAULT_SEND_DAYS))
    window_start_minute: Mapped[int] = mapped_column(default=8 * 60)
    window_end_minute: Mapped[int] = mapped_column(default=17 * 60)
    # A reply from a colleague at the contact's company domain stops the enrollment too.
    colleague_reply_stops: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[User | None] = relationship()
    steps: Mapped[list[SequenceStep]] = relationship(
        back_populates="sequence", order_by="(SequenceStep.position, SequenceStep.id)",
        cascade="all, delete-orphan", passive_deletes=True,
    )


class SequenceStep(db.Model):
    __tablename__ = "sequence_steps"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(kind) for kind in STEP_KINDS)})", name="step_kind"),
        CheckConstraint(f"delay_days >= 0 AND delay_days <= {MAX_DELAY_DAYS}", name="delay_days"),
        Index("ix_sequence_steps_sequence_position", "sequence_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(16))
    # Business days (the rep's working days) after the previous step was done.
    delay_days: Mapped[int] = mapped_column(default=0)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_templates.id", ondelete="SET NULL"))
    # Own content, used when no template is chosen.
    subject: Mapped[str | None] = mapped_column(String(500))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # A follow-up normally threads under the first email ("Re: ..."); this starts a new
    # thread with the step's own subject instead.
    new_thread: Mapped[bool] = mapped_column(default=False)
    task_note: Mapped[str | None] = mapped_column(Text)

    sequence: Mapped[Sequence] = relationship(back_populates="steps")
    template: Mapped[EmailTemplate | None] = relationship()

    @property
    def is_email(self) -> bool:
        return self.kind in EMAIL_KINDS


class Enrollment(db.Model):
    __tablename__ = "enrollments"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused', 'finished', 'stopped')", name="enrollment_status"),
        # At most one live (active or paused) enrollment per contact, enforced by the database
        # so two tabs or a bulk run racing a single enroll cannot both succeed.
        Index("ix_enrollments_one_live_per_contact", "contact_id", unique=True,
              postgresql_where=text("status IN ('active', 'paused')"),
              sqlite_where=text("status IN ('active', 'paused')")),
        Index("ix_enrollments_status_due", "status", "next_due_at"),
        Index("ix_enrollments_user_status", "user_id", "status"),
        Index("ix_enrollments_sequence_status", "sequence_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # The sender: the rep whose mailbox sends and who owns the tasks.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    pause_reason: Mapped[str | None] = mapped_column(String(32))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    current_step_id: Mapped[int | None] = mapped_column(ForeignKey("sequence_steps.id", ondelete="SET NULL"))
    completed_step_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    # When the current step fires; NULL while it waits for its email to be sent or its task
    # to be done (``awaiting``), and once the enrollment has ended.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awaiting: Mapped[str | None] = mapped_column(String(16))  # 'email' | 'task' | None
    pending_email_id: Mapped[int | None]
    thread_message_id: Mapped[str | None] = mapped_column(String(300))
    thread_subject: Mapped[str | None] = mapped_column(String(500))
    soft_bounce_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    enrolled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sequence: Mapped[Sequence] = relationship()
    contact: Mapped[Contact] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    current_step: Mapped[SequenceStep | None] = relationship()

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def steps_done(self) -> int:
        return len(self.completed_step_ids or [])


class SequenceTask(db.Model):
    __tablename__ = "sequence_tasks"
    __table_args__ = (
        CheckConstraint("kind IN ('call', 'social', 'manual_email')", name="task_kind"),
        # One task per step of an enrollment: running the step twice cannot make two.
        UniqueConstraint("enrollment_id", "step_id", name="uq_sequence_tasks_enrollment_step"),
        Index("ix_sequence_tasks_owner_open", "owner_id", "done_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("sequence_steps.id", ondelete="SET NULL"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    # The draft of a manual email step (an outbound_emails row owned by the mail feature;
    # no foreign key: that table's migration comes after this one).
    outbound_email_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrollment: Mapped[Enrollment] = relationship()
    step: Mapped[SequenceStep | None] = relationship()
    contact: Mapped[Contact] = relationship()
    owner: Mapped[User] = relationship()

