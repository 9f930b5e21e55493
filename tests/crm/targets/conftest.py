"""Targets fixtures: a fake S&OP provider registered on the test app (``set_plan_feedback``,
the boundary the CRM defines), months relative to the frozen ``NOW``, and deal helpers."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm.deals.services import close_deal
from crm.extensions import db
from crm.public import PlanCell, plan_feedback, set_plan_feedback
from crm.targets.services import add_months
from tests.conftest import NOW

THIS_MONTH = NOW.date().replace(day=1)
NEXT_MONTH = add_months(THIS_MONTH, 1)
MONTH_AFTER = add_months(THIS_MONTH, 2)


def ym(month: date) -> str:
    return f"{month:%Y-%m}"


@dataclass
class FakePlanFeedback:
    """A published plan the test writes: cells, slack per (family, month), and available-to-
    promise as free capacity per (family, month) taken in order from ``start``."""

    cells: list[PlanCell] = field(default_factory=list)
    slack: dict[tuple[str, date], Decimal] = field(default_factory=dict)
    free: dict[tuple[str, date], Decimal] = field(default_factory=dict)
    calls: list[tuple] = field(default_factory=list)

    def publish(self, family: str, month: date, units, revenue=None, capacity=None) -> PlanCell:
        cell = PlanCell(family, month, Decimal(str(units)), None if capacity is None else Decimal(str(capacity)),
                        None if revenue is None else Decimal(str(revenue)), ym(THIS_MONTH), 1)
        self.cells.append(cell)
        return cell

    def plan(self, start: date, end: date) -> list[PlanCell]:
        return [c for c in self.cells if start <= c.period <= end]

    def capacity_slack(self, family: str, month: date) -> Decimal | None:
        return self.slack.get((family, month))

    def earliest_month(self, family: str, quantity: Decimal, start: date) -> date | None:
        self.calls.append((family, quantity, start))
        months = sorted(m for f, m in self.free if f == family and m >= start)
        return next((m for m in months if self.free[(family, m)] >= quantity), None)


@pytest.fixture
def feedback(app):
    before = plan_feedback()  # the app's own provider (the S&OP side's), put back after
    fake = FakePlanFeedback()
    set_plan_feedback(app, fake)
    yield fake
    set_plan_feedback(app, before)


@pytest.fixture
def deal_for(make_deal, stages):
    """An open deal owned by ``owner`` with ``units`` of ``family`` closing on ``close``
    (default: mid this month) at stage ``stage`` (index into the stages fixture: 0.1, 0.25, 0.5, 0.75)."""
    def make(owner, units, family="PUMP", close=None, stage=2, contact=None, price="100.00"):
        return make_deal(actor=owner, owner_id=owner.id, stage_id=stages[stage].id,
                         expected_close=close or THIS_MONTH + timedelta(days=14),
                         contact_id=contact.id if contact else None,
                         lines=[{"family": family, "quantity": units, "unit_price": price}])
    return make


@pytest.fixture
def win(deal_for, admin):
    """A deal owned by ``owner`` won ``days_ago`` days before NOW."""
    def make(owner, units, family="PUMP", days_ago=10, contact=None, price="100.00"):
        deal = deal_for(owner, units, family=family, contact=contact, price=price)
        close_deal(admin, deal.id, won=True, now=NOW, closed_on=(NOW - timedelta(days=days_ago)).date())
        db.session.commit()
        return deal
    return make
