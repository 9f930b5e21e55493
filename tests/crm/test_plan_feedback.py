"""The plan-feedback contract (``crm.public``): a provider is set per app, read back through
``plan_feedback()`` from the current app, and an app nobody gave one answers "nothing known"."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import current_app

from config import TestConfig
from crm.app import create_app
from crm.public import NO_PLAN_FEEDBACK, PlanFeedback, plan_feedback, set_plan_feedback

MARCH = date(2026, 3, 1)


class FakePlanFeedback:
    """What an S&OP provider might answer: a target and a slack for PUMP, nothing else."""

    def targets(self, family: str, month: date) -> Decimal | None:
        return Decimal("1200") if (family, month) == ("PUMP", MARCH) else None

    def capacity_slack(self, family: str, month: date) -> float | None:
        return 0.15 if (family, month) == ("PUMP", MARCH) else None


def test_a_provider_set_on_one_app_answers_there_only():
    fake: PlanFeedback = FakePlanFeedback()
    other = create_app(TestConfig())
    set_plan_feedback(other, fake)

    with other.app_context():
        assert plan_feedback() is fake
        assert plan_feedback().targets("PUMP", MARCH) == Decimal("1200")
        assert plan_feedback().capacity_slack("PUMP", MARCH) == 0.15
        assert plan_feedback().targets("VALVE", MARCH) is None

    # the tests' own app (the current one here) was given none
    assert current_app._get_current_object() is not other
    assert plan_feedback() is NO_PLAN_FEEDBACK


def test_an_app_without_a_provider_knows_no_targets_or_slack():
    assert plan_feedback().targets("PUMP", MARCH) is None
    assert plan_feedback().capacity_slack("PUMP", MARCH) is None
