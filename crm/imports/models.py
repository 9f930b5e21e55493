from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow


class ImportJob(db.Model):
    """One uploaded file being imported; progress counters are committed per batch so the
    page can show them, and a crashed worker's job is picked up again (rows are idempotent
    by email / external id)."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint("kind IN ('contacts', 'deals')", name="kind"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("on_duplicate IN ('update', 'skip')", name="on_duplicate"),
        Index("ix_import_jobs_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    encoding: Mapped[str | None] = mapped_column(String(40))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    on_duplicate: Mapped[str] = mapped_column(String(8), default="skip")
    status: Mapped[str] = mapped_column(String(8), default="queued")
    total_bytes: Mapped[int] = mapped_column(default=0)
    bytes_read: Mapped[int] = mapped_column(default=0)
    rows_seen: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()


class ImportRejection(db.Model):
    """A row the import refused, with its line number in the file and the reason."""

    __tablename__ = "import_rejections"
    __table_args__ = (Index("ix_import_rejections_job_line", "job_id", "line_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    line_number: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
