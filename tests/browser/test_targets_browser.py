"""In real headless Chromium, with a fake S&OP provider registered on the live server's app:
a rep opens My day and sees their targets per family, a queue entry boosted by spare
capacity with its reason, and on a deal the month the plant can ship it."""
from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest

from crm.calls.blocks import create_block
from crm.extensions import db
from crm.public import plan_feedback, set_plan_feedback
from tests.conftest import NOW, PASSWORD
from tests.crm.targets.conftest import MONTH_AFTER, NEXT_MONTH, THIS_MONTH, FakePlanFeedback, ym

pytestmark = pytest.mark.browser


@pytest.fixture
def plan(app):
    fake = FakePlanFeedback()
    fake.publish("PUMP", THIS_MONTH, 120, revenue="24000.00", capacity=1000)
    fake.publish("PUMP", NEXT_MONTH, 100, revenue="20000.00", capacity=1000)
    fake.publish("VALVE", THIS_MONTH, 30, revenue="1500.00", capacity=30)
    for month in (THIS_MONTH, NEXT_MONTH):
        fake.slack[("PUMP", month)] = Decimal(400)  # 40 % spare: boosts PUMP buyers
    fake.slack[("VALVE", THIS_MONTH)] = Decimal(0)
    fake.slack[("VALVE", NEXT_MONTH)] = Decimal(0)
    fake.free[("VALVE", NEXT_MONTH)] = Decimal(0)     # VALVE is full next month...
    fake.free[("VALVE", MONTH_AFTER)] = Decimal(50)   # ...and has room the month after
    before = plan_feedback()  # the app's own provider (the S&OP side's), put back after
    set_plan_feedback(app, fake)
    yield fake
    set_plan_feedback(app, before)


@pytest.fixture
def rep_day(plan, make_user, make_contact, make_deal, stages, clock):
    rep = make_user("rep", name="Rosa Rep", email="rosa@acme-sales.com", time_zone="UTC")
    create_block(rep, {"kind": "recurring", "weekdays": [0, 1, 2, 3, 4, 5, 6], "start_time": time(9),
                       "end_time": time(18)}, NOW)
    buyer = make_contact(first_name="Pia", last_name="Pumpbuyer", phone="+52 55 5555 0101", time_zone="UTC",
                         actor=rep)
    make_deal(actor=rep, owner_id=rep.id, contact_id=buyer.id, stage_id=stages[2].id, name="Pumps for Pia",
              expected_close=THIS_MONTH + timedelta(days=20),
              lines=[{"family": "PUMP", "quantity": 40, "unit_price": "200.00"}])
    held = make_deal(actor=rep, owner_id=rep.id, stage_id=stages[3].id, name="Valves for Vic",
                     expected_close=THIS_MONTH + timedelta(days=20),  # + 14 days lead time: next month
                     lines=[{"family": "VALVE", "quantity": 25, "unit_price": "50.00"}])
    db.session.commit()
    return rep, buyer, held


def test_rep_sees_targets_a_capacity_boost_and_a_ship_month(page, rep_day):
    rep, buyer, held = rep_day
    page.goto("/login")
    page.fill("input[name=email]", rep.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/calls")

    panel = page.locator("#targets-panel")
    pump = panel.locator(f"tr[data-family=PUMP][data-period='{ym(THIS_MONTH)}']")
    assert pump.locator(".target-units").inner_text().startswith("120")  # the only PUMP seller
    assert panel.locator(f"tr[data-family=VALVE][data-period='{ym(THIS_MONTH)}'] .target-units").inner_text() \
        .startswith("30")
    assert "120 to go" in pump.locator(".gap-units").inner_text()

    entry = page.locator("#call-queue tbody tr", has_text="Pia Pumpbuyer")
    assert f"spare capacity in PUMP for {THIS_MONTH:%b}–{NEXT_MONTH:%b}" in entry.inner_text()
    page.screenshot(path="/tmp/targets_my_day.png", full_page=True)

    page.goto(f"/deals/{held.id}")
    hold = page.locator(".ship-hold[data-family=VALVE]")
    assert hold.locator(".ship-month").inner_text() == f"{MONTH_AFTER:%b %Y}"
    assert f"not {NEXT_MONTH:%b %Y}" in hold.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the hold still reads
    assert hold.is_visible()
    assert page.console_errors == []
