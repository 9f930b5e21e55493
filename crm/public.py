"""The narrow read API other packages (the planning bridge) use: functions returning frozen
dataclasses, never models. Also the plan-feedback interface the bridge registers, so ``crm``
never imports the bridge."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterator, Protocol

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.deals.models import Deal, DealLine, ProductFamily
from crm.extensions import db


@dataclass(frozen=True)
class Family:
    code: str
    name: str
    unit: str
    lead_time_days: int


@dataclass(frozen=True)
class PipelineLine:
    """One product line of one open or closed deal."""

    deal_id: str
    family: str
    quantity: float
    amount: Decimal
    stage: str
    stage_probability: Decimal
    created_on: date
    expected_close: date
    closed_on: date | None
    won: bool | None  # None while open


def product_families() -> list[Family]:
    return [
        Family(f.code, f.name, f.unit, f.lead_time_days)
        for f in db.session.scalars(select(ProductFamily).order_by(ProductFamily.code))
    ]


def pipeline_lines() -> Iterator[PipelineLine]:
    """Every line of every deal as it stands now."""
    deals = db.session.scalars(
        select(Deal).options(
            joinedload(Deal.stage), joinedload(Deal.lines).joinedload(DealLine.family)
        ).order_by(Deal.id)
    ).unique()
    for deal in deals:
        for line in deal.lines:
            yield PipelineLine(
                deal_id=str(deal.id), family=line.family.code, quantity=line.quantity,
                amount=line.amount, stage=deal.stage.name, stage_probability=deal.stage.probability,
                created_on=deal.created_at.date(), expected_close=deal.expected_close,
                closed_on=deal.closed_on, won=None if deal.is_open else deal.status == "won",
            )


class PlanFeedback(Protocol):
    """What the S&OP side tells sales; registered by the planning bridge."""

    def targets(self, family: str, month: date) -> Decimal | None: ...

    def capacity_slack(self, family: str, month: date) -> float | None: ...


_plan_feedback: PlanFeedback | None = None


def register_plan_feedback(provider: PlanFeedback) -> None:
    global _plan_feedback
    _plan_feedback = provider


def plan_feedback() -> PlanFeedback | None:
    return _plan_feedback
