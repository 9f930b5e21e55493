"""Lead-routing rules, tried in ``position`` order; the first that matches picks the owner."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

RULE_KINDS = ("company_owner", "country", "time_zone", "round_robin")


class RoutingRule(db.Model):
    __tablename__ = "lead_routing_rules"
    __table_args__ = (
        CheckConstraint("kind IN ('company_owner', 'country', 'time_zone', 'round_robin')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(20))
    # country: ISO codes, comma-separated ("DE, AT, CH"); time_zone: zone prefixes ("America/, US/")
    match: Mapped[str | None] = mapped_column(String(200))
    rep_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    next_index: Mapped[int] = mapped_column(default=0)  # the round robin's turn
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
