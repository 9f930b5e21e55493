"""In real headless Chromium: the deal lines editor (deal_lines.js, served under the strict
CSP) adds and removes rows, totals them as you type, and the saved deal has exactly the lines
left on screen."""
from __future__ import annotations

from decimal import Decimal

import pytest

from crm.deals.models import Deal
from crm.extensions import db
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_lines_editor_adds_removes_and_totals_rows(page, alice, stages, families):
    page.goto("/login")
    page.fill("input[name=email]", alice.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts")

    page.goto("/deals/new")
    rows = page.locator("tr.line-row")
    assert rows.count() == 3
    page.click("[data-add-line]")
    page.click("[data-add-line]")
    assert rows.count() == 5
    assert page.locator("select[name='lines-4-family']").count() == 1  # renumbered for the server

    page.fill("input[name=name]", "Pumps and valves for Initech")
    page.fill("input[name=expected_close]", "2026-09-30")
    page.select_option("select[name='lines-0-family']", "PUMP")
    page.fill("input[name='lines-0-quantity']", "4")
    page.fill("input[name='lines-0-unit_price']", "1000")
    page.select_option("select[name='lines-3-family']", "VALVE")
    page.fill("input[name='lines-3-quantity']", "10")
    page.fill("input[name='lines-3-unit_price']", "25.50")
    page.select_option("select[name='lines-4-family']", "PUMP")
    page.fill("input[name='lines-4-quantity']", "99")
    page.fill("input[name='lines-4-unit_price']", "1")
    assert page.locator("[data-lines-total]").inner_text() == "4,354.00"
    assert rows.nth(3).locator("[data-line-amount]").inner_text() == "255.00"
    rows.nth(4).locator("[data-remove-line]").click()
    assert rows.count() == 4
    assert page.locator("[data-lines-total]").inner_text() == "4,255.00"

    page.click("button:has-text('Create deal')")
    page.wait_for_selector("text=Deal Pumps and valves for Initech created.")
    deal = db.session.query(Deal).one()
    assert deal.amount == Decimal("4255.00")
    assert sorted((line.family.code, line.quantity) for line in deal.lines) == [("PUMP", 4), ("VALVE", 10)]
    assert page.console_errors == []
