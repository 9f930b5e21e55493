from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.i18n import _l
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

DEAL_STATUSES = ("open", "won", "lost")
# How the codes read on pages (the manifest's ``code_labels``; ``crm.i18n.code_label``).
CODE_LABELS = {"deal_status": {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}}
MONEY = Numeric(14, 2)


class ProductFamily(db.Model):
    """The S&OP planning unit: demand is planned per family and month."""

    __tablename__ = "product_families"
    __table_args__ = (CheckConstraint("lead_time_days >= 0", name="lead_time_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20), default="unit")
    lead_time_days: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class Stage(db.Model):
    """A stage of the (single, editable) open pipeline. Won and lost are deal statuses, not
    stages, so a closed deal can never be mistaken for pipeline whatever its probability."""

    __tablename__ = "pipeline_stages"
    __table_args__ = (
        CheckConstraint("probability >= 0 AND probability <= 1", name="probability_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    probability: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    is_active: Mapped[bool] = mapped_column(default=True)


class Deal(db.Model):
    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
        CheckConstraint(
            "(status = 'open' AND closed_on IS NULL) OR (status <> 'open' AND closed_on IS NOT NULL)",
            name="closed_on_matches_status",
        ),
        Index("ix_deals_status_stage", "status", "stage_id"),
        Index("ix_deals_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id"))
    status: Mapped[str] = mapped_column(String(8), default="open")
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    expected_close: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_on: Mapped[date | None]
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(100))

    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    owner: Mapped[User | None] = relationship()
    stage: Mapped[Stage] = relationship()
    lines: Mapped[list[DealLine]] = relationship(
        back_populates="deal", cascade="all, delete-orphan", order_by="DealLine.id"
    )

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class DealLine(db.Model):
    __tablename__ = "deal_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("product_families.id"), index=True)
    quantity: Mapped[float]
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    deal: Mapped[Deal] = relationship(back_populates="lines")
    family: Mapped[ProductFamily] = relationship()


class DealChange(db.Model):
    """One change of a tracked deal field. ``field`` is one of stage, expected_close, amount,
    lines, status; values are JSON (lines as the full list of {family, quantity, unit_price,
    amount}) so the deal can be replayed to any past date."""

    __tablename__ = "deal_changes"
    __table_args__ = (Index("ix_deal_changes_deal_time", "deal_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    changed_by: Mapped[User | None] = relationship()
