"""The table of background jobs (see ``crm/jobs/__init__.py``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.i18n import _l
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

JOB_STATUSES = ("queued", "running", "done", "failed")
OPEN_STATUSES = ("queued", "running")
# How the codes read on pages (the manifest's ``code_labels``; ``crm.i18n.code_label``).
CODE_LABELS = {"job_status": {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Done"),
                              "failed": _l("Failed")}}


class BackgroundJob(db.Model):
    """One piece of work queued by a request and run by the worker. ``done``/``total`` and
    ``error_count`` are committed with the work they count (one transaction per chunk), so
    the page shows real progress and a second claim resumes exactly there. ``attempts``
    counts the claims: a worker's writes only land while its claim is the latest one."""

    __tablename__ = "background_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        Index("ix_background_jobs_status_created", "status", "created_at"),
        Index("ix_background_jobs_user_kind", "user_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0
