"""In real headless Chromium, the whole loop of a tracked document: a rep uploads a proposal and
shares it with a prospect; the prospect reads three pages; the link is forwarded and a colleague,
on another browser, gives their email (the privacy line shown), then reads; the rep sees both
readers on the account (the company's timeline and the content page), the forward, the time
per page, and an alert. No Content Security Policy error on any page."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from crm.contacts.models import Activity, Contact
from crm.documents.models import ContentItem, ContentPageTime, ContentView
from crm.documents.samples import sample_pdf
from crm.documents.worker import process_pending
from crm.extensions import db
from crm.timeutil import utcnow
from tests.conftest import PASSWORD
from tests.crm.documents.conftest import PAGES, storage  # noqa: F401  (the storage directory fixture)

pytestmark = pytest.mark.browser


def wait_until(check, timeout=15.0):
    """Poll the database (beacons are asynchronous) until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.fixture
def public_base(app, live_server):
    saved = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = live_server
    yield live_server
    app.config["PUBLIC_BASE_URL"] = saved


def read_pages(tab, pages: int, dwell_ms: int = 700) -> None:
    for number in range(1, pages + 1):
        # A selector, not wait_for_function: polling a JS string is eval, which the viewer's CSP refuses.
        tab.locator(f"#content-viewer[data-current='{number}']").wait_for(state="attached")
        assert tab.locator(f"#page-{number} img").is_visible()
        tab.wait_for_timeout(dwell_ms)
        if number < pages:
            tab.click("#viewer-next")


def seconds_by_page(contact_id: int) -> dict[int, float]:
    rows = db.session.execute(select(ContentPageTime.page, func.sum(ContentPageTime.seconds))
                              .join(ContentView, ContentView.id == ContentPageTime.view_id)
                              .where(ContentView.contact_id == contact_id).group_by(ContentPageTime.page)).all()
    return dict(rows)


def test_share_read_forward_and_the_rep_sees_both_on_the_account(
        chromium, page, public_base, storage, make_user, make_company, make_contact):  # noqa: F811
    rep = make_user("rep", name="Rita Rep", email="rita@acme-sales.com")
    northwind = make_company(name="Northwind", domain="northwind.example")
    paula = make_contact(email="paula@northwind.example", first_name="Paula", last_name="Prospect",
                         company_id=northwind.id, owner_id=rep.id)

    # the rep uploads the proposal; the worker renders it
    page.goto("/login")
    page.fill("input[name=email]", rep.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto("/content")
    page.fill("#doc-name", "Northwind proposal")
    page.set_input_files("#doc-file", files=[{"name": "proposal.pdf", "mimeType": "application/pdf",
                                              "buffer": sample_pdf(PAGES)}])
    page.click("#doc-upload")
    page.wait_for_selector("#content-status")
    assert process_pending(utcnow())["ready"] == 1
    item = db.session.scalar(select(ContentItem))
    page.reload()
    assert page.locator("#content-status").get_attribute("data-status") == "ready"

    # ... and shares it with Paula
    page.fill("#share-contact", paula.email)
    page.click("#share-submit")
    url = page.locator("#share-links [data-url]").first.inner_text().strip()
    assert url.startswith(public_base + "/d/")

    # Paula reads three pages in her browser
    prospect = chromium.new_context(viewport={"width": 1200, "height": 900})
    tab = prospect.new_page()
    errors = []
    tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
    tab.goto(url)
    read_pages(tab, 3)
    tab.close()  # leaving mid-page: the last page's seconds go in the pagehide beacon
    prospect.close()
    read = wait_until(lambda: len(seconds_by_page(paula.id)) == 3 and seconds_by_page(paula.id))
    assert set(read) == {1, 2, 3} and all(seconds > 0.3 for seconds in read.values()), read

    # she forwards the link; Carl opens it on his own browser and is asked who he is
    colleague = chromium.new_context(viewport={"width": 1200, "height": 900})
    tab = colleague.new_page()
    tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
    tab.goto(url)
    assert "Privacy:" in tab.locator("#gate-privacy").inner_text()
    assert tab.locator(".viewer-page").count() == 0
    tab.fill("#gate-email", "carl@northwind.example")
    tab.fill("#gate-first", "Carl")
    tab.fill("#gate-last", "Colleague")
    tab.click("#gate-submit")
    tab.wait_for_selector("#content-viewer")
    read_pages(tab, 2)
    tab.close()
    colleague.close()
    carl = db.session.scalar(select(Contact).where(Contact.email == "carl@northwind.example"))
    assert carl is not None and carl.company_id == northwind.id and carl.owner_id == rep.id
    assert wait_until(lambda: len(seconds_by_page(carl.id)) == 2)

    # the rep sees both on the account, the forward, time per page and the alert
    page.goto(f"/companies/{northwind.id}")
    company = page.content()
    assert "Paula" in company and "Carl" in company
    assert db.session.scalar(select(func.count(Activity.id)).where(
        Activity.company_id == northwind.id, Activity.kind.in_(("document_viewed", "document_forwarded")))) == 3
    page.goto(f"/content/{item.id}")
    assert {r.get_attribute("data-reader") for r in page.locator("#readers tr[data-reader]").all()} == {
        str(paula.id), str(carl.id)}
    assert "forwarded by Paula Prospect" in page.locator("#forwards").inner_text()
    times = {int(li.get_attribute("data-page")): float(li.get_attribute("data-seconds"))
             for li in page.locator("#page-times li").all()}
    assert times[1] > 0 and times[2] > 0 and times[3] > 0 and times[4] == 0 and times[5] == 0
    page.goto("/alerts")
    alerts = page.content()
    assert "Paula Prospect is reading" in alerts and "forwarded" in alerts
    assert errors == [] and page.console_errors == []
