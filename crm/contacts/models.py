from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

#: The lifecycle stages, in order, with their labels: the one definition every form, API schema,
#: importer, rule and score reads.
LIFECYCLE_LABELS = {"lead": "Lead", "mql": "MQL", "sql": "SQL", "opportunity": "Opportunity",
                    "customer": "Customer"}
LIFECYCLE_STAGES = tuple(LIFECYCLE_LABELS)
LIFECYCLE_CHOICES = list(LIFECYCLE_LABELS.items())
CUSTOM_FIELD_TYPES = ("text", "number", "choice", "date", "boolean")


class Company(db.Model):
    __tablename__ = "companies"
    __table_args__ = (CheckConstraint("domain = lower(domain)", name="domain_lower"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    industry: Mapped[str | None] = mapped_column(String(100))
    employee_count: Mapped[int | None]
    time_zone: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    custom: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship()


def zone_of(contact_zone: str | None, company_zone: str | None) -> str:
    """A contact's effective time zone from its own and its company's (either may be unset)."""
    return contact_zone or company_zone or "UTC"


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint(
            "lifecycle_stage IN ('lead', 'mql', 'sql', 'opportunity', 'customer')",
            name="lifecycle_stage",
        ),
        Index("ix_contacts_owner_stage", "owner_id", "lifecycle_stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="", index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The language mail and invites to this contact are written in ('en', 'es'); None: the
    # owner's language (issue #17).
    language: Mapped[str | None] = mapped_column(String(8))
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default="lead")
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    unsubscribed: Mapped[bool] = mapped_column(default=False)
    # Set by a hard bounce (sequences refuse the address) and by a "wrong number" call
    # outcome (the call queue skips the phone); cleared when the field is edited.
    email_bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone_invalid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    linkedin_url: Mapped[str | None] = mapped_column(String(300))
    x_url: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(100))
    custom: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    company: Mapped[Company | None] = relationship()
    owner: Mapped[User | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    @property
    def effective_time_zone(self) -> str:
        """The contact's own zone, else the company's, else UTC."""
        return zone_of(self.time_zone, self.company.time_zone if self.company else None)

    @property
    def email_is_deliverable(self) -> bool:
        return self.email_bounced_at is None

    def can_be_contacted(self) -> bool:
        return not (self.do_not_contact or self.unsubscribed)


class Activity(db.Model):
    """One row of the append-only timeline. ``kind`` is a dotted-free verb noun such as
    ``note``, ``email_sent``, ``call``, ``meeting_booked``; ``details`` holds what that kind needs."""

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_contact_time", "contact_id", "occurred_at"),
        Index("ix_activities_company_time", "company_id", "occurred_at"),
        Index("ix_activities_deal_time", "deal_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # A contact's history goes with the contact; deleting a company or deal must not erase
    # what happened to the people, so those links are only cut (services drop the rows that
    # belonged to nobody else).
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class CustomField(db.Model):
    """An admin-defined extra field on contacts or companies; values live in ``custom``."""

    __tablename__ = "custom_fields"
    __table_args__ = (
        UniqueConstraint("entity", "key"),
        CheckConstraint("entity IN ('contact', 'company')", name="entity"),
        CheckConstraint(
            "field_type IN ('text', 'number', 'choice', 'date', 'boolean')", name="field_type"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(100))
    field_type: Mapped[str] = mapped_column(String(16))
    choices: Mapped[list[str]] = mapped_column(JSONType, default=list)
    position: Mapped[int] = mapped_column(default=0)
