"""In real headless Chromium, under the strict CSP: the planner runs an S&OP cycle end to end
— opens the month just ended (relative to the frozen clock), overrides a month with its
assumption, enters capacity, agrees one family and escalates another, publishes, and reads
the executive summary, which prints without the app's chrome."""
from __future__ import annotations

from datetime import timedelta

import pytest

from planning_bridge.periods import first_day, month_index, period_text
from planning_bridge.sop import services
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp/sop-browser-{name}.png"
CYCLE_MONTH = period_text(month_index(NOW.date()) - 1)
FIRST = period_text(month_index(NOW.date()))
SECOND = period_text(month_index(NOW.date()) + 1)


@pytest.fixture
def pipeline(make_deal, stages, alice):
    make_deal(name="Pumps for Initech", stage_id=stages[3].id, owner_id=alice.id,
              expected_close=first_day(month_index(NOW.date())) + timedelta(days=20),
              lines=[{"family": "PUMP", "quantity": 12, "unit_price": "100.00"}])


def _sign_in(page, user):
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/planning/")


def test_a_planner_runs_the_cycle_and_publishes_the_plan(page, pat, pipeline):
    _sign_in(page, pat)
    page.click("nav.subnav a:has-text('S&OP cycle')")
    page.wait_for_url("**/planning/cycles")
    assert page.input_value("#cycle-month") == CYCLE_MONTH
    page.click("#open-cycle button[type=submit]")
    page.wait_for_url(f"**/planning/cycles/{CYCLE_MONTH}")
    assert page.inner_text("#step-data_gathering .step-status").strip() == "Done"
    assert page.inner_text("#step-demand_review .step-status").strip() == "In progress"

    # Demand review: an override with its assumption.
    page.click("nav.cycle-tabs a:has-text('Demand review')")
    page.select_option("#ov-family", "PUMP")
    page.select_option("#ov-period", SECOND)
    page.fill("#ov-units", "25")
    page.fill("#ov-reason", "Spring promotion on pumps")
    page.click("#override button[type=submit]")
    page.wait_for_selector("#override-history td:has-text('Spring promotion on pumps')")
    page.screenshot(path=SCREENSHOTS.format(name="demand"), full_page=True)

    # Supply review: capacity below the demand in the second month.
    page.click("nav.cycle-tabs a:has-text('Supply review')")
    page.fill(f"#cap-PUMP-{FIRST}", "20")
    page.fill(f"#cap-PUMP-{SECOND}", "10")
    page.click("#supply-PUMP button:has-text('Save PUMP capacity')")
    page.wait_for_selector("#supply-PUMP .badge:has-text('1 month over capacity')")
    assert page.input_value(f"#cap-PUMP-{SECOND}") == "10"
    assert "capacity saved for 2 months." in page.inner_text(".flash-success")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the grid scrolls in place
    page.screenshot(path=SCREENSHOTS.format(name="supply"), full_page=True)

    # Pre-meeting: agree VALVE, escalate PUMP with the question.
    page.click("nav.cycle-tabs a:has-text('Pre-meeting')")
    page.click("#review-VALVE button[value=agreed]")
    page.wait_for_selector("#review-VALVE .badge:has-text('agreed')")
    page.fill("#note-PUMP", "Demand above capacity in " + SECOND + ": add a shift?")
    page.click("#review-PUMP button[value=escalated]")
    page.wait_for_selector("#agenda li:has-text('add a shift?')")

    # Executive meeting: publish, then read the one-page summary.
    page.click("nav.cycle-tabs a:has-text('Executive meeting')")
    page.click("#publish-plan")
    page.wait_for_selector(".flash-success:has-text('is published')")
    summary = page.inner_text("#exec-PUMP")
    assert "Escalated" in summary and "add a shift?" in summary and "1 month short" in summary
    assert "2,500" in summary  # 25 units x 100, the weighted pipeline's price
    page.screenshot(path=SCREENSHOTS.format(name="executive"), full_page=True)
    version = services.plan_in_force()
    assert version is not None and version.version == 1
    cell = next(c for c in version.cells if (c.family, c.period) == ("PUMP", SECOND))
    assert (float(cell.demand_units), float(cell.capacity_units)) == (25.0, 10.0)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: each family's page fits the screen
    assert page.evaluate("[...document.querySelectorAll('.exec-page')].every("
                         "e => e.getBoundingClientRect().right <= window.innerWidth)")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('#publish')).display") == "none"
    assert page.locator("#exec-PUMP").is_visible()
    page.screenshot(path=SCREENSHOTS.format(name="print"), full_page=True)
    assert page.console_errors == []
