"""Accessibility of the main pages, for each role, in real headless Chromium with axe-core
(vendored under tests/browser/vendor/axe-core, MPL-2.0): zero serious or critical violations
on every page a role reaches from its navigation and sub-navigation, plus the record pages a
rep's day and a manager's week go through. Also: keyboard focus is visible, and at 390 px the
sub-navigation wraps instead of being cut off.

axe runs through ``page.evaluate``: script evaluated over the DevTools protocol is not subject
to the page's Content Security Policy (an injected ``<script>`` tag would be refused by the
app's ``script-src 'self'``), so the pages are checked under the CSP they ship with."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crm.contacts.models import Contact
from crm.deals.models import Deal
from crm.demo import catalog
from crm.demo.seed import DEFAULT_SEED, seed_demo
from crm.extensions import db
from tests.conftest import NOW

pytestmark = pytest.mark.browser

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


@pytest.mark.parametrize("role", ["rep", "manager", "admin", "planner"])
def test_every_main_page_has_no_serious_accessibility_violation(page, demo_company, role):
    user = next(u for u in catalog.USERS if u.role == role)
    _sign_in(page, user.email)
    found: dict[str, list] = {}
    hrefs = _navigation(page)
    if role in ("rep", "manager", "admin"):
        hrefs += _record_pages(next(u for u in catalog.USERS if u.role == "rep").email)
    _check(page, hrefs, found)
    assert len(hrefs) >= 5
    assert found == {}, f"{role}: serious/critical axe violations: {found}"
    assert page.console_errors == []


def test_keyboard_focus_is_visible_and_narrow_screens_keep_the_sub_navigation(page, demo_company):
    rep = next(u for u in catalog.USERS if u.role == "rep")
    _sign_in(page, rep.email)
    page.goto("/calls")
    page.keyboard.press("Tab")  # the skip link first
    page.keyboard.press("Tab")
    outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                            " return [s.outlineStyle, s.outlineWidth, s.boxShadow]; }")
    assert outline[0] != "none" and outline[1] != "0px", outline

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/calls")
    cut = page.evaluate("() => [...document.querySelectorAll('.subnav a')].filter(a => {"
                        " const r = a.getBoundingClientRect(); return r.right > window.innerWidth + 1; }).length")
    assert cut == 0
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
