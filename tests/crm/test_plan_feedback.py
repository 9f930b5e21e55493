"""The plan-feedback contract (``crm.public``): a provider is set per app, read back through
``plan_feedback()`` from the current app, and an app nobody gave one answers "nothing known"."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import current_app

from config import TestConfig
from crm.app import create_app
from crm.public import NO_PLAN_FEEDBACK, PlanCell, PlanFeedback, plan_feedback, set_plan_feedback

MARCH = date(2026, 3, 1)
APRIL = date(2026, 4, 1)
PUMP_MARCH = PlanCell("PUMP", MARCH, Decimal("1200"), Decimal("1500"), Decimal("240000"), "2026-02", 1)


class FakePlanFeedback:
    """What an S&OP provider might answer: a plan and a slack for PUMP in March, nothing else."""

    def plan(self, start: date, end: date) -> list[PlanCell]:
        return [PUMP_MARCH] if start <= MARCH <= end else []

    def capacity_slack(self, family: str, month: date) -> Decimal | None:
        return Decimal("300") if (family, month) == ("PUMP", MARCH) else None

    def earliest_month(self, family: str, quantity: Decimal, start: date) -> date | None:
        return MARCH if family == "PUMP" and quantity <= 300 and start <= MARCH else None


def test_a_provider_set_on_one_app_answers_there_only():
    fake: PlanFeedback = FakePlanFeedback()
    other = create_app(TestConfig())
    set_plan_feedback(other, fake)

    with other.app_context():
        assert plan_feedback() is fake
        assert plan_feedback().plan(MARCH, APRIL) == [PUMP_MARCH]
        assert plan_feedback().capacity_slack("PUMP", MARCH) == Decimal("300")
        assert plan_feedback().earliest_month("PUMP", Decimal("200"), MARCH) == MARCH
        assert plan_feedback().capacity_slack("VALVE", MARCH) is None

    # the tests' own app (the current one here) has its own provider (the manifest's setup
    # gives every app the S&OP side's), never the other app's
    assert current_app._get_current_object() is not other
    assert plan_feedback() is not fake


def test_the_default_provider_knows_no_plan_or_capacity():
    assert NO_PLAN_FEEDBACK.plan(MARCH, APRIL) == []
    assert NO_PLAN_FEEDBACK.capacity_slack("PUMP", MARCH) is None
    assert NO_PLAN_FEEDBACK.earliest_month("PUMP", Decimal("1"), MARCH) is None


def test_an_app_with_nothing_published_knows_no_plan_or_capacity():
    assert plan_feedback().plan(MARCH, APRIL) == []
    assert plan_feedback().capacity_slack("PUMP", MARCH) is None
    assert plan_feedback().earliest_month("PUMP", Decimal("1"), MARCH) is None
