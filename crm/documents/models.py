"""Tables of the documents feature: tracked content (PDF documents and videos) in a team's
library, its rendered pages, the share links given to contacts, the people who read through a
link (the first browser, and the forwarded readers who gave their email), and what each
viewing session did (seconds per page, how far a video was watched)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.extensions import db
from crm.timeutil import UTCDateTime, utcnow

KINDS = ("document", "video")
# queued: stored, waiting for the worker; running: claimed by a worker (crm.jobs.claims);
# ready: pages rendered / poster extracted; failed: ``error`` says why.
STATUSES = ("queued", "running", "ready", "failed")
VIDEO_SOURCES = ("upload", "url")
LINK_SOURCES = ("share", "email")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ContentFolder(db.Model):
    """A folder of a team's library. A team is a manager and the reps pointing at them
    (``users.manager_id``); ``team_id`` is the manager's id (a rep without a manager is a team
    of one)."""

    __tablename__ = "content_folders"
    __table_args__ = (UniqueConstraint("team_id", "name", name="uq_content_folders_team_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContentItem(db.Model):
    """One PDF document or one video (uploaded, or an external https URL)."""

    __tablename__ = "content_items"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(f"source IS NULL OR {_in('source', VIDEO_SOURCES)}", name="source"),
        # The worker claims the oldest queued item: one index range scan.
        Index("ix_content_items_status_created", "status", "created_at"),
        Index("ix_content_items_team_kind", "team_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    team_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("content_folders.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    source: Mapped[str | None] = mapped_column(String(10))  # videos: upload | url
    external_url: Mapped[str | None] = mapped_column(String(2000))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    byte_size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # Files under DOCUMENTS_DIR: the original, and for videos the poster frame, an uploaded
    # thumbnail and the email thumbnail (poster with a play button drawn on it).
    storage_key: Mapped[str | None] = mapped_column(String(300))
    thumbnail_key: Mapped[str | None] = mapped_column(String(300))
    poster_key: Mapped[str | None] = mapped_column(String(300))
    email_image_key: Mapped[str | None] = mapped_column(String(300))
    page_count: Mapped[int | None]
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    # Videos: the one the owner's email templates insert for ``{{ video }}``.
    use_in_emails: Mapped[bool] = mapped_column(Boolean, default=False)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    folder: Mapped[ContentFolder | None] = relationship()


class ContentPage(db.Model):
    """One rendered page of a document: its image (under DOCUMENTS_DIR) and its text, for search."""

    __tablename__ = "content_pages"
    __table_args__ = (UniqueConstraint("item_id", "number", name="uq_content_pages_item_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"))
    number: Mapped[int]  # from 1
    image_key: Mapped[str] = mapped_column(String(300))
    width: Mapped[int]
    height: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")


class ContentLink(db.Model):
    """A share link of one item for one contact. The URL carries a signed token of ``id`` and
    ``nonce`` (``crm.documents.links``); revoking or expiring acts here, on the row. The first
    human browser to read it claims it (``claimed_key``): another browser is asked for an email."""

    __tablename__ = "content_links"
    __table_args__ = (
        CheckConstraint(_in("source", LINK_SOURCES), name="source"),
        Index("ix_content_links_item", "item_id", "created_at"),
        Index("ix_content_links_contact", "contact_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(8), default="share")
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    allow_download: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_key: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    item: Mapped[ContentItem] = relationship()
    contact: Mapped[Contact] = relationship()


class ContentReader(db.Model):
    """A browser (its reader key cookie) known to be ``contact_id`` on ``link_id``: the one that
    claimed the link, or one whose person gave their email at the forward gate."""

    __tablename__ = "content_readers"
    __table_args__ = (UniqueConstraint("link_id", "reader_key", name="uq_content_readers_link_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("content_links.id", ondelete="CASCADE"))
    reader_key: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContentForward(db.Model):
    """``contact_id`` read ``link_id`` after it was forwarded by the link's contact: written
    once per link and person (the unique pair makes concurrent submits one row)."""

    __tablename__ = "content_forwards"
    __table_args__ = (UniqueConstraint("link_id", "contact_id", name="uq_content_forwards_link_contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("content_links.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    forwarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContentView(db.Model):
    """One viewing session (one page load of the viewer or the watch page), created by its first
    beacon: link scanners and prefetchers run no script, so they never make one; those that do
    get the tracking verdict of their request (``scanner``...) and count nowhere."""

    __tablename__ = "content_views"
    __table_args__ = (
        Index("ix_content_views_item_time", "item_id", "started_at"),
        Index("ix_content_views_contact_time", "contact_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    view_key: Mapped[str] = mapped_column(String(64), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"))
    link_id: Mapped[int] = mapped_column(ForeignKey("content_links.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")
    total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    watched_percent: Mapped[int] = mapped_column(default=0)  # videos: 0, 25, 50, 75, 100


class ContentPageTime(db.Model):
    """Seconds one view spent on one page (summed over its beacons)."""

    __tablename__ = "content_page_times"
    __table_args__ = (UniqueConstraint("view_id", "page", name="uq_content_page_times_view_page"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    view_id: Mapped[int] = mapped_column(ForeignKey("content_views.id", ondelete="CASCADE"))
    page: Mapped[int]
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
