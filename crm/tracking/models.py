"""Tables of the tracking feature.

- ``TrackingLink``: one random token per open pixel or rewritten link of a sent email; the
  click destination lives here (server-side), so a token is all a URL ever carries.
- ``TrackingEvent``: every open, click, page view and form capture, raw and with its verdict.
  Machine events stay (they are visible, marked) but only ``human`` ones count anywhere.
- ``Visitor``: a first-party website visitor id, attached to a contact once they are known.
- ``TrackedOrigin``: the customer sites allowed to send page views and forms.
- ``IpCompanyRange``: IP ranges bought from a data provider, keyed by fixed-width hex so a
  range lookup is one index probe (``start_key <= ip ORDER BY start_key DESC LIMIT 1``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.i18n import _l
from crm.timeutil import UTCDateTime, utcnow

EVENT_KINDS = ("email_opened", "email_clicked", "page_viewed", "form_submitted")
VERDICTS = ("human", "privacy_proxy", "scanner", "duplicate")
# How a verdict reads on pages (the manifest's ``code_labels``; ``crm.i18n.code_label``).
CODE_LABELS = {"tracking_verdict": {"human": _l("a person"), "privacy_proxy": _l("privacy proxy"),
                                    "scanner": _l("link scanner"), "duplicate": _l("duplicate")}}


class TrackingLink(db.Model):
    __tablename__ = "tracking_links"
    __table_args__ = (CheckConstraint("kind IN ('open', 'click')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    # No foreign key: the outbox table belongs to mail; tokens of a deleted email just stop
    # resolving to anything but their own row.
    outbound_email_id: Mapped[int | None] = mapped_column(index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Visitor(db.Model):
    __tablename__ = "tracking_visitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    identified_by: Mapped[str | None] = mapped_column(String(16))  # email_click | form


class IpCompanyRange(db.Model):
    __tablename__ = "ip_company_ranges"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 32 lower-case hex digits of the 128-bit address (IPv4 as ::ffff:a.b.c.d): string order
    # is numeric order, on every database.
    start_key: Mapped[str] = mapped_column(String(32), index=True)
    end_key: Mapped[str] = mapped_column(String(32))
    cidr: Mapped[str] = mapped_column(String(64))
    company_name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackedOrigin(db.Model):
    __tablename__ = "tracked_origins"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(255), unique=True)  # scheme://host[:port]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackingEvent(db.Model):
    __tablename__ = "tracking_events"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('email_opened', 'email_clicked', 'page_viewed', 'form_submitted')", name="kind"
        ),
        CheckConstraint(
            "verdict IN ('human', 'privacy_proxy', 'scanner', 'duplicate')", name="verdict"
        ),
        Index("ix_tracking_events_contact_time", "contact_id", "occurred_at"),
        Index("ix_tracking_events_email_time", "outbound_email_id", "occurred_at"),
        Index("ix_tracking_events_visitor_time", "visitor_id", "occurred_at"),
        Index("ix_tracking_events_kind_time", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    outbound_email_id: Mapped[int | None]
    link_id: Mapped[int | None] = mapped_column(ForeignKey("tracking_links.id", ondelete="CASCADE"))
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("tracking_visitors.id", ondelete="CASCADE"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"))
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(String(300))
    referrer: Mapped[str | None] = mapped_column(String(2048))
    label: Mapped[str | None] = mapped_column(String(300))  # "'Pricing follow-up'", "/pricing"
    ip: Mapped[str | None] = mapped_column(String(45))
    # The company behind the address (IP range lookup at ingest), kept on the event so a new
    # provider file does not rewrite history.
    company_name: Mapped[str | None] = mapped_column(String(200))
    company_domain: Mapped[str | None] = mapped_column(String(253))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    method: Mapped[str] = mapped_column(String(8), default="GET")
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")
    high_value: Mapped[bool] = mapped_column(default=False)


class TrackingInbox(db.Model):
    """Raw hits waiting for ``crm.tracking.inbox.process_inbox`` (the worker, every two
    seconds, or inline when ``TRACKING_PROCESS_INLINE``). The public endpoints only append
    here, one INSERT per request, so a burst of opens costs the web process almost nothing;
    the verdicts, timeline, scores and alerts follow within seconds. Rows are deleted in the
    transaction that turns them into events, so a crash mid-way loses nothing."""

    __tablename__ = "tracking_inbox"
    __table_args__ = (CheckConstraint("kind IN ('open', 'click', 'view')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    link_id: Mapped[int | None]  # no foreign keys: appending must stay one cheap INSERT
    contact_id: Mapped[int | None]
    visitor: Mapped[str | None] = mapped_column(String(64))
    pc: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(String(300))
    referrer: Mapped[str | None] = mapped_column(String(2048))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    method: Mapped[str] = mapped_column(String(8), default="GET")
