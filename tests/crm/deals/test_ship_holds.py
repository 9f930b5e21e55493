"""Ship holds: an open deal whose delivery month (expected close + the family's lead time) the
plan's free capacity cannot take is held, with the earliest month it could ship, on the deal
page and in the deals API; nothing is held without a plan or a known capacity."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.deals.services import ShipHold, close_deal, delivery_month, get_deal, ship_holds
from crm.extensions import db
from crm.public import NO_PLAN_FEEDBACK, plan_feedback, set_plan_feedback
from tests.conftest import NOW
from tests.crm.api.conftest import ApiClient
from tests.crm.targets.conftest import MONTH_AFTER, NEXT_MONTH, THIS_MONTH, FakePlanFeedback, ym

TODAY = NOW.date()


@pytest.fixture
def feedback(app):
    before = plan_feedback()  # the app's own provider (the S&OP side's), put back after
    fake = FakePlanFeedback()
    set_plan_feedback(app, fake)
    yield fake
    set_plan_feedback(app, before)


@pytest.fixture
def api(client, api_token):
    return lambda user: ApiClient(client, api_token(user))


def known_capacity(feedback, family, free_by_month):
    for month, free in free_by_month.items():
        feedback.slack[(family, month)] = Decimal(free)
        feedback.free[(family, month)] = Decimal(free)


def pump_deal(make_deal, alice, units, close):
    return make_deal(actor=alice, owner_id=alice.id, expected_close=close,
                     lines=[{"family": "PUMP", "quantity": units, "unit_price": "100.00"},
                            {"family": "VALVE", "quantity": 1, "unit_price": "5.00"}])


def test_the_delivery_month_adds_the_lead_time_and_is_never_in_the_past():
    assert delivery_month(THIS_MONTH + timedelta(days=5), 30, TODAY) == NEXT_MONTH
    assert delivery_month(THIS_MONTH - timedelta(days=40), 0, TODAY) == THIS_MONTH


def test_a_deal_the_plant_cannot_make_in_time_is_held_with_the_earliest_month(feedback, make_deal, alice):
    # PUMP lead time is 30 days: closing on the 5th of this month ships next month
    known_capacity(feedback, "PUMP", {NEXT_MONTH: 20, MONTH_AFTER: 80})
    deal = pump_deal(make_deal, alice, 50, THIS_MONTH + timedelta(days=5))
    holds = ship_holds(get_deal(deal.id), TODAY)
    assert holds == {"PUMP": ShipHold("PUMP", Decimal(50), NEXT_MONTH, MONTH_AFTER)}
    assert feedback.calls == [("PUMP", Decimal(50), NEXT_MONTH)]


def test_no_hold_when_it_fits_without_a_plan_or_for_closed_deals(feedback, make_deal, alice, admin, app):
    known_capacity(feedback, "PUMP", {NEXT_MONTH: 50})
    deal = pump_deal(make_deal, alice, 50, THIS_MONTH + timedelta(days=5))
    assert ship_holds(get_deal(deal.id), TODAY) == {}  # fits exactly; VALVE: capacity unknown
    feedback.free[("PUMP", NEXT_MONTH)] = Decimal(10)
    assert "PUMP" in ship_holds(get_deal(deal.id), TODAY)
    close_deal(admin, deal.id, won=True, now=NOW)
    db.session.commit()
    assert ship_holds(get_deal(deal.id), TODAY) == {}
    set_plan_feedback(app, NO_PLAN_FEEDBACK)
    other = pump_deal(make_deal, alice, 500, THIS_MONTH + timedelta(days=5))
    assert ship_holds(get_deal(other.id), TODAY) == {}


def test_a_quantity_no_month_can_take_is_held_with_no_month(feedback, make_deal, alice, api):
    known_capacity(feedback, "PUMP", {NEXT_MONTH: 20, MONTH_AFTER: 30})
    deal = pump_deal(make_deal, alice, 500, THIS_MONTH + timedelta(days=5))
    line = api(alice).get(f"/deals/{deal.id}").get_json()["lines"][0]
    assert line["ship_hold"] == {"family": "PUMP", "earliest_month": None, "delivery_month": ym(NEXT_MONTH),
                                 "quantity": 500.0}


def test_the_api_and_the_deal_page_show_the_hold(feedback, make_deal, alice, api, client, login):
    known_capacity(feedback, "PUMP", {NEXT_MONTH: 0, MONTH_AFTER: 100})
    deal = pump_deal(make_deal, alice, 40, THIS_MONTH + timedelta(days=5))
    body = api(alice).get(f"/deals/{deal.id}").get_json()
    assert body["lines"][0]["ship_hold"] == {"family": "PUMP", "earliest_month": ym(MONTH_AFTER),
                                             "delivery_month": ym(NEXT_MONTH), "quantity": 40.0}
    assert body["lines"][1]["ship_hold"] is None
    listed = api(alice).get("/deals?status=open").get_json()["items"][0]
    assert listed["lines"][0]["ship_hold"]["earliest_month"] == ym(MONTH_AFTER)
    login(client, alice)
    html = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert 'class="ship-hold" data-family="PUMP"' in html
    assert f'<strong class="ship-month">{MONTH_AFTER:%b %Y}</strong>' in html


def test_no_hold_in_the_api_without_a_plan(make_deal, alice, api, stages, families):
    deal = pump_deal(make_deal, alice, 40, THIS_MONTH + timedelta(days=5))
    assert [line["ship_hold"] for line in api(alice).get(f"/deals/{deal.id}").get_json()["lines"]] == [None, None]
