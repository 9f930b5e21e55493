"""Available-to-promise and capacity slack against hand-computed cases: a plan imported for
the cycle (months M0..M3 from the frozen clock's month), won deals consuming capacity in the
month they ship (close day + the family's lead time: PUMP 30 days, VALVE 14)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.extensions import db
from crm.public import plan_feedback
from planning_bridge.periods import first_day, month_index, period_text
from planning_bridge.sop import services
from planning_bridge.sop.feedback import FamilyMonth, earliest_month_index
from tests.conftest import NOW
from tests.planning_bridge.conftest import at
from tests.planning_bridge.sop.conftest import CYCLE_MONTH

M0 = month_index(NOW.date())
MONTHS = [period_text(M0 + i) for i in range(4)]
DAY0 = first_day(M0)

# PUMP (make-to-order): capacity 10, 10, none, 20; VALVE (make-to-stock): 5 a month.
PLAN = "family,period,demand_units,capacity_units,revenue\n" + "".join(
    f"PUMP,{p},4,{cap},400\n" for p, cap in zip(MONTHS, ("10", "10", "", "20"))
) + "".join(f"VALVE,{p},2,5,100\n" for p in MONTHS)


@pytest.fixture
def published(cycle, pat):
    services.set_family_supply(pat, CYCLE_MONTH, "VALVE", NOW, strategy="make_to_stock")
    imported = services.import_plan(pat, CYCLE_MONTH, PLAN.encode(), NOW, publish_it=True)
    assert imported.version is not None and not imported.result.rejected
    db.session.commit()
    return imported.version


@pytest.fixture
def won(deal_at, close_at):
    """Won deals: PUMP 8 units shipping in M0 and 10 in M1 (M1 exhausted), VALVE 8 in M0."""
    def win(family, quantity, closed_on):
        deal = deal_at(at(closed_on - timedelta(days=20)), 2, closed_on, [(family, quantity, 100)])
        close_at(deal, at(closed_on), True, closed_on=closed_on)

    win("PUMP", 8, DAY0 - timedelta(days=24))   # + 30 days: M0
    win("PUMP", 10, DAY0 + timedelta(days=4))   # + 30 days: M1
    win("VALVE", 8, DAY0 + timedelta(days=2))   # + 14 days: M0


def atp(family, quantity, start=0):
    found = plan_feedback().earliest_month(family, Decimal(quantity), first_day(M0 + start))
    return None if found is None else month_index(found) - M0


def test_without_won_deals_the_first_month_with_room_answers(published):
    assert [atp("PUMP", q) for q in (1, 10, 11, 20, 21)] == [0, 0, 3, 3, None]
    assert atp("PUMP", 5, start=2) == 3  # M2 has no capacity entered: nothing can ship then


def test_won_deals_consume_capacity_make_to_order(published, won):
    # free capacity: M0 10-8=2, M1 10-10=0, M2 none, M3 20
    assert [atp("PUMP", q) for q in (2, 3, 20, 21)] == [0, 3, 3, None]
    assert atp("PUMP", 1, start=1) == 3


def test_make_to_stock_promises_from_accumulated_stock_without_robbing_later_months(published, won):
    # free 5-8=-3, 5, 5, 5 → running stock -3, 2, 7, 12: M0 cannot promise anything (short
    # already); M1 can promise 2 (what stays in stock at every later month), M2 7, M3 12.
    assert [atp("VALVE", q) for q in (1, 2, 3, 7, 8, 12, 13)] == [1, 1, 2, 2, 3, 3, None]


def test_a_quantity_larger_than_any_month_is_null(published, won, call, alice):
    body = call(alice, "GET", f"/available-to-promise?family=PUMP&quantity=1000&from={MONTHS[0]}").get_json()
    assert body == {"family": "PUMP", "quantity": 1000.0, "earliest_month": None}
    body = call(alice, "GET", f"/available-to-promise?family=PUMP&quantity=3&from={MONTHS[0]}").get_json()
    assert body["earliest_month"] == MONTHS[3]


def test_atp_needs_a_known_family_a_positive_quantity_and_a_month(published, call, alice):
    for query, field in (("family=NOPE&quantity=1", "family"), ("family=PUMP&quantity=0", "quantity"),
                         ("family=PUMP&quantity=1&from=2026-13", "from")):
        response = call(alice, "GET", f"/available-to-promise?{query}")
        assert response.status_code == 422 and field in str(response.get_json()["error"]["fields"]), query


def test_capacity_slack_is_capacity_minus_plan_minus_committed(published, won):
    feedback = plan_feedback()
    assert feedback.capacity_slack("PUMP", first_day(M0)) == Decimal("-2")     # 10 - 4 - 8
    assert feedback.capacity_slack("PUMP", first_day(M0 + 1)) == Decimal("-4")  # 10 - 4 - 10
    assert feedback.capacity_slack("PUMP", first_day(M0 + 2)) is None          # no capacity entered
    assert feedback.capacity_slack("PUMP", first_day(M0 + 3)) == Decimal("16")
    assert feedback.capacity_slack("VALVE", first_day(M0 + 1)) == Decimal("3")  # 5 - 2 - 0
    assert feedback.capacity_slack("PUMP", first_day(M0 + 9)) is None          # outside the plan


def test_plan_returns_the_published_cells(published):
    cells = plan_feedback().plan(first_day(M0 + 1), first_day(M0 + 2))
    assert [(c.family, c.period, c.demand_units, c.capacity_units) for c in cells] == [
        ("PUMP", first_day(M0 + 1), Decimal("4.000"), Decimal("10.000")),
        ("PUMP", first_day(M0 + 2), Decimal("4.000"), None),
        ("VALVE", first_day(M0 + 1), Decimal("2.000"), Decimal("5.000")),
        ("VALVE", first_day(M0 + 2), Decimal("2.000"), Decimal("5.000")),
    ]
    assert {(c.cycle, c.version, c.revenue) for c in cells} == {
        (CYCLE_MONTH, 1, Decimal("400.00")), (CYCLE_MONTH, 1, Decimal("100.00"))}


def test_nothing_published_means_no_plan_and_no_promise(cycle):
    assert plan_feedback().plan(first_day(M0), first_day(M0 + 12)) == []
    assert plan_feedback().earliest_month("PUMP", Decimal(1), first_day(M0)) is None
    assert plan_feedback().capacity_slack("PUMP", first_day(M0)) is None


def test_the_rule_on_plain_numbers():
    months = [FamilyMonth(0, Decimal(4), Decimal(0), Decimal(0)), FamilyMonth(1, None, Decimal(0), Decimal(0)),
              FamilyMonth(2, Decimal(6), Decimal(0), Decimal(5))]
    assert earliest_month_index(months, Decimal(4), 0, cumulative=False) == 0
    assert earliest_month_index(months, Decimal(2), 1, cumulative=False) is None  # M1 none, M2 free 1
    # stock: 4, 4, 5 (+ opening 3: 7, 7, 8)
    assert earliest_month_index(months, Decimal(5), 0, cumulative=True) == 2
    assert earliest_month_index(months, Decimal(7), 0, cumulative=True, opening=Decimal(3)) == 0
