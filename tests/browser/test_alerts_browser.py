"""In real headless Chromium: a rep has a page open; notify() (what tracking calls when their
contact reads the pricing page) shows a toast and the unread badge within seconds, with no
Content Security Policy errors."""
from __future__ import annotations

import pytest

from crm.alerts.services import notify
from crm.extensions import db
from crm.timeutil import utcnow
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def fast_poll(app):
    saved = app.config.get("ALERTS_POLL_INTERVAL_MS")
    app.config["ALERTS_POLL_INTERVAL_MS"] = 500
    yield
    if saved is None:
        app.config.pop("ALERTS_POLL_INTERVAL_MS", None)
    else:
        app.config["ALERTS_POLL_INTERVAL_MS"] = saved


def test_an_alert_pops_up_within_seconds(page, make_user, make_contact, fast_poll):
    rep = make_user("rep", name="Rita Rep", email="rita@acme-sales.com")
    contact = make_contact(first_name="Ana", last_name="Ruiz", owner_id=rep.id)
    page.goto("/login")
    page.fill("input[name=email]", rep.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts")
    page.locator("#alerts-badge").wait_for(state="attached")  # not wait_for_function: eval vs the CSP
    page.wait_for_timeout(1200)  # the first poll has answered: only new alerts pop up from here
    assert page.locator(".alert-toast").count() == 0

    notify(rep.id, "hot_lead", "Ana Ruiz is reading 'Pricing' now: call", now=utcnow(),
           contact_id=contact.id, url=f"/contacts/{contact.id}")
    db.session.commit()

    toast = page.locator(".alert-toast")
    toast.first.wait_for(state="visible", timeout=5000)
    assert "Ana Ruiz is reading 'Pricing' now: call" in toast.first.inner_text()
    badge = page.locator("#alerts-badge")
    assert badge.is_visible() and badge.inner_text().split() == ["1", "unread"]  # "unread" visually hidden
    page.screenshot(path="/tmp/alerts_toast.png")

    toast.first.locator("a").click()
    page.wait_for_url(f"**/contacts/{contact.id}")
    assert page.console_errors == []
