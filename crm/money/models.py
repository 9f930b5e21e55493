"""The company's base currency and the dated exchange rates into it."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.timeutil import UTCDateTime, utcnow

# 1 unit of a currency = RATE units of the base: 8 decimals hold both 0.00005 (JPY into EUR)
# and 20.12345678 (EUR into MXN).
RATE = Numeric(18, 8)
DEFAULT_BASE_CURRENCY = "EUR"


class CompanySettings(db.Model):
    """One row (id 1): settings of the company using the CRM. Missing (a fresh test database),
    the base currency is ``DEFAULT_BASE_CURRENCY``; the migration writes EUR for existing
    installs, whose deals were all EUR, so nothing changes for them."""

    __tablename__ = "company_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    base_currency: Mapped[str] = mapped_column(String(3), default=DEFAULT_BASE_CURRENCY)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ExchangeRate(db.Model):
    """From ``valid_from`` on (until the currency's next rate), 1 ``currency`` = ``rate`` of
    ``base``. ``base`` is the base currency the rate was entered against: after the base
    changes, old rates are kept but no longer apply."""

    __tablename__ = "exchange_rates"
    __table_args__ = (
        UniqueConstraint("base", "currency", "valid_from"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("currency <> base", name="not_the_base"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    base: Mapped[str] = mapped_column(String(3))
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(RATE)
    valid_from: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()
