"""Accessibility of the main pages, for each role, in real headless Chromium with axe-core
(vendored under tests/browser/vendor/axe-core, MPL-2.0): zero serious or critical violations
on every page a role reaches from its navigation and sub-navigation, plus the record pages a
rep's day and a manager's week go through. Also: keyboard focus is visible, and at 390 px the
sub-navigation wraps instead of being cut off.

axe runs through ``page.evaluate``: script evaluated over the DevTools protocol is not subject
to the page's Content Security Policy (an injected ``<script>`` tag would be refused by the
app's ``script-src 'self'``), so the pages are checked under the CSP they ship with."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.contacts.models import Contact
from crm.deals.models import Deal
from crm.demo import catalog
from crm.demo.seed import DEFAULT_SEED, seed_demo
from crm.extensions import db
from tests.conftest import NOW

# The pages are the same whatever the database; seeding the demo and ~120 page loads take
# minutes, so the walk runs once, in the SQLite pass of `make test`.
pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="accessibility is checked in the SQLite pass of make test (the pages do not depend on the database)")]

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
BLOCKING = ("serious", "critical")
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || ''))}));
}"""


@pytest.fixture
def demo_company(app):
    seed_demo(seed=DEFAULT_SEED, today=NOW.date(), commit=db.session.commit)
    return {u.key: u for u in catalog.USERS}


def _sign_in(page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", catalog.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]


def _navigation(page) -> list[str]:
    """The pages a role reaches from the top navigation and each page's sub-navigation."""
    hrefs = page.eval_on_selector_all(".mainnav a, .usermenu a", "els => els.map(e => e.getAttribute('href'))")
    pages = ["/"] + [h for h in hrefs if h and h.startswith("/")]
    for href in list(pages):
        page.goto(href)
        for sub in page.eval_on_selector_all(".subnav a", "els => els.map(e => e.getAttribute('href'))"):
            if sub and sub.startswith("/") and sub not in pages:
                pages.append(sub)
    return list(dict.fromkeys(pages))


def _check(page, hrefs, found: dict) -> None:
    for href in hrefs:
        response = page.goto(href)
        assert response is not None and response.status < 400, f"{href}: {response and response.status}"
        bad = _violations(page)
        if bad:
            found[href] = bad


def _record_pages(rep_email: str) -> list[str]:
    contact = db.session.scalar(select(Contact).where(Contact.owner.has(email=rep_email)).order_by(Contact.id))
    deal = db.session.scalar(select(Deal).where(Deal.owner.has(email=rep_email)).order_by(Deal.id))
    return [f"/contacts/{contact.id}", f"/companies/{contact.company_id}", f"/deals/{deal.id}", "/contacts/new"]


def _axe_clean(page, role: str, extra: list[str]) -> int:
    user = next(u for u in catalog.USERS if u.role == role)
    _sign_in(page, user.email)
    hrefs = list(dict.fromkeys(_navigation(page) + extra))
    found: dict[str, list] = {}
    _check(page, hrefs, found)
    assert found == {}, f"{role}: serious/critical axe violations: {found}"
    return len(hrefs)


def test_a_reps_day_and_a_managers_week_have_no_serious_accessibility_violation(page, demo_company):
    """One seeded company (seeding is the slow part), every role in turn."""
    page.set_default_timeout(60_000)  # a few demo pages (planning accuracy) are heavy on a busy machine
    rep_email = next(u for u in catalog.USERS if u.role == "rep").email
    records = _record_pages(rep_email)

    # The rep's day: My day, the work page, a contact's timeline with its details opened by keyboard.
    checked = _axe_clean(page, "rep", ["/calls/work", *records])
    page.goto(records[0])
    summary = page.locator(".tl-more summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator(".tl-more").first.get_attribute("open") is not None
    assert _violations(page) == []
    _focus_is_visible(page)
    _narrow_screen_keeps_the_sub_navigation(page)

    # The manager's week: the team pages and their CSV downloads.
    checked += _axe_clean(page, "manager", ["/team/activity", "/team/pipeline", "/team/sequences", *records])
    for path in ("/team/activity", "/team/pipeline", "/team/sequences"):
        page.goto(path)
        assert page.locator("svg.chart").count() >= 1, path
        csv = page.request.get(f"{path}?format=csv")
        assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv"), path

    checked += _axe_clean(page, "admin", ["/team/activity", *records])
    checked += _axe_clean(page, "planner", [])
    assert checked >= 60
    assert page.console_errors == []


def _focus_is_visible(page) -> None:
    page.goto("/calls")
    page.keyboard.press("Tab")  # the skip link first
    page.keyboard.press("Tab")
    outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                            " return [s.outlineStyle, s.outlineWidth]; }")
    assert outline[0] != "none" and outline[1] != "0px", outline


def _narrow_screen_keeps_the_sub_navigation(page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/calls")
    cut = page.evaluate("() => [...document.querySelectorAll('.subnav a')].filter(a => {"
                        " const r = a.getBoundingClientRect(); return r.right > window.innerWidth + 1; }).length")
    assert cut == 0
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert _violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})
