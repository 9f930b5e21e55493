from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.i18n import _l
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

IMPORT_KINDS = ("contacts", "deals")
IMPORT_STATUSES = ("queued", "running", "done", "failed")
# How the codes read on pages (the manifest's ``code_labels``; ``crm.i18n.code_label``).
CODE_LABELS = {
    "import_kind": {"contacts": _l("Contacts"), "deals": _l("Deals")},
    "import_status": {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Done"), "failed": _l("Failed")},
}


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
    delimiter: Mapped[str | None] = mapped_column(String(4))
    # How cells are read, chosen on the preview: {"day_first": bool, "default_family": code}.
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=dict)
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
    noted_count: Mapped[int] = mapped_column(default=0, server_default="0")  # footer lines skipped
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by each claim: a worker writes progress only while the job still carries its token,
    # so a worker taken for dead that wakes up cannot commit a batch twice (crm/imports/jobs.py).
    claim_token: Mapped[str | None] = mapped_column(String(32))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()


REJECTION_KINDS = ("rejected", "note")


class ImportRejection(db.Model):
    """A row the import refused, with its line number in the file and the reason; or
    (``kind="note"``) a line skipped on purpose, such as a report's footer."""

    __tablename__ = "import_rejections"
    __table_args__ = (
        Index("ix_import_rejections_job_line", "job_id", "line_number"),
        CheckConstraint("kind IN ('rejected', 'note')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    line_number: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(8), default="rejected", server_default="rejected")


class ImportPreset(db.Model):
    """A column mapping a user saved under a name, to apply to the next file from the same
    tool: ``mapping`` is ``{"CSV header": "field"}`` (``""``: ignore the column)."""

    __tablename__ = "import_presets"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "name", name="uq_import_presets_user_kind_name"),
        CheckConstraint("kind IN ('contacts', 'deals')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
