"""Tables of the targets feature: a manager's allocation of their team's target for one family
and month to one rep. The targets themselves are not stored: they are the published plan (read
through ``crm.public.plan_feedback``) split by ``crm.targets.split`` each time they are read."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Numeric, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.deals.models import ProductFamily
from crm.extensions import db
from crm.timeutil import UTCDateTime, utcnow

UNITS = Numeric(14, 3)


class TargetAllocation(db.Model):
    """Units of the team's target for ``family`` in ``period`` (a month's first day) that the
    team's manager gave ``user``; who set it and when are kept (the page shows them)."""

    __tablename__ = "target_allocations"
    __table_args__ = (
        UniqueConstraint("manager_id", "user_id", "family_id", "period", name="uq_target_allocation_cell"),
        CheckConstraint("units >= 0", name="units_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[int] = mapped_column(ForeignKey("product_families.id", ondelete="CASCADE"))
    period: Mapped[date] = mapped_column(Date)
    units: Mapped[Decimal] = mapped_column(UNITS)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    family: Mapped[ProductFamily] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    set_by: Mapped[User | None] = relationship(foreign_keys=[set_by_id])
