"""The whole S&OP loop on the demo company, in real headless Chromium: the planner opens this
month's cycle, overrides a forecast cell with a reason, enters pump capacity (none for two
months, plenty after), agrees one family and escalates pumps, publishes the consensus plan;
then a rep opens My day and sees their targets per family from that plan, and opens a pump
deal the plant cannot make in time to find the month it can ship. The plan reaches the CRM
only through the provider the S&OP side registers on the app (``crm.public.plan_feedback``)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from crm.auth.models import User
from crm.deals.models import Deal, DealLine, ProductFamily
from crm.deals.services import get_deal, ship_holds
from crm.demo import catalog
from crm.demo.seed import DEFAULT_SEED, seed_demo
from crm.extensions import db
from crm.public import plan_feedback
from crm.targets.services import add_months
from crm.web.formatting import format_day
from tests.conftest import NOW

pytestmark = pytest.mark.browser

THIS_MONTH = NOW.date().replace(day=1)
CYCLE = f"{THIS_MONTH:%Y-%m}"                      # this month's cycle: its plan starts next month
FULL = [add_months(THIS_MONTH, 1), add_months(THIS_MONTH, 2)]  # no pump capacity left
ROOMY = add_months(THIS_MONTH, 3)


@pytest.fixture
def demo_company(app):
    seed_demo(seed=DEFAULT_SEED, today=NOW.date(), commit=db.session.commit)
    # The demo's planner reads Spanish; this walk checks the flow in English (Spanish pages
    # are checked in test_i18n_browser.py). The rep keeps Spanish.
    db.session.execute(update(User).where(User.email == catalog.PLANNER.email).values(language="en"))
    db.session.commit()
    return {u.key: u for u in catalog.USERS}


def _sign_in(page, email: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", catalog.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def _held_pump_deal(rep_email: str):
    """A rep's open pump deal the published plan holds (found the way the deal page does)."""
    deals = db.session.scalars(
        select(Deal).join(DealLine).join(ProductFamily)
        .where(Deal.status == "open", ProductFamily.code == "PUMP", Deal.owner.has(email=rep_email))
        .order_by(Deal.expected_close, Deal.id).distinct()
    ).all()
    for deal in deals:
        hold = ship_holds(get_deal(deal.id), NOW.date()).get("PUMP")
        if hold is not None and hold.earliest_month is not None:
            return deal, hold
    return None, None


def test_the_planner_runs_the_cycle_and_the_rep_sells_to_the_plan(page, demo_company):
    planner, rep = catalog.PLANNER, catalog.REPS[0]
    _sign_in(page, planner.email)

    page.goto("/planning/cycles")
    page.fill("#cycle-month", CYCLE)
    page.click("form[action$='/planning/cycles'] button[type=submit]")
    page.wait_for_url(f"**/planning/cycles/{CYCLE}")
    assert "cycle is open" in _flash(page)

    page.goto(f"/planning/cycles/{CYCLE}/demand")
    page.select_option("#ov-family", "VALVE")
    page.select_option("#ov-period", f"{FULL[0]:%Y-%m}")
    page.fill("#ov-units", "420")
    page.fill("#ov-reason", "Trade fair orders expected from the Monterrey distributor")
    page.click("form[action$='/overrides'] button[type=submit]")
    page.wait_for_load_state()
    assert "Monterrey distributor" in page.content()

    page.goto(f"/planning/cycles/{CYCLE}/supply")
    for month in FULL:
        page.fill(f"#cap-PUMP-{month:%Y-%m}", "0")
    page.fill(f"#cap-PUMP-{ROOMY:%Y-%m}", "99999")
    page.click("form[action$='/capacity/PUMP'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(f"#cap-PUMP-{ROOMY:%Y-%m}").input_value() == "99999"  # (a round 100000 reads 1E+5: normalize())

    page.goto(f"/planning/cycles/{CYCLE}/pre-meeting")
    page.locator("form[action$='/reviews/VALVE'] button[value=agreed]").click()
    page.wait_for_load_state()
    page.fill("#note-PUMP", "No pump capacity for two months: promise later dates or add a shift?")
    page.locator("form[action$='/reviews/PUMP'] button[value=escalated]").click()
    page.wait_for_load_state()

    page.goto(f"/planning/cycles/{CYCLE}/executive")
    assert "No pump capacity for two months" in page.content()  # the escalation is on the agenda
    page.click("#publish-plan")
    page.wait_for_load_state()
    assert "Version 1 of the" in page.content()
    published = plan_feedback().plan(FULL[0], ROOMY)
    assert {c.family for c in published} >= {"PUMP", "VALVE"}
    assert [c.capacity_units for c in published if c.family == "PUMP"] == [Decimal(0), Decimal(0), Decimal(99999)]

    deal, hold = _held_pump_deal(rep.email)
    assert deal is not None, "the demo rep has a pump deal shipping in the months without capacity"
    assert hold.delivery_month in FULL and hold.earliest_month == ROOMY

    page.context.clear_cookies()
    _sign_in(page, rep.email)
    page.goto("/calls")
    panel = page.locator("#targets-panel")
    assert panel.locator("#targets-empty").count() == 0
    pump = panel.locator(f"tr[data-family=PUMP][data-period='{FULL[0]:%Y-%m}']")
    assert pump.count() == 1 and pump.locator(".target-units").inner_text().strip() != ""
    assert panel.locator(f"tr[data-family=VALVE][data-period='{FULL[0]:%Y-%m}']").count() == 1
    page.screenshot(path="/tmp/sop_loop_my_day.png", full_page=True)

    page.goto(f"/deals/{deal.id}")
    shown = page.locator(".ship-hold[data-family=PUMP] .ship-month").inner_text()
    assert shown == format_day(ROOMY, "short_month", locale=rep.language)  # the demo rep reads Spanish
    page.screenshot(path="/tmp/sop_loop_deal.png", full_page=True)
    assert page.console_errors == []
