"""In real headless Chromium: an email sent through the outbox is opened (its pixel records a
human open; the same pixel fetched with Apple's MPP user agent is a privacy_proxy that moves no
score), and a customer page on ANOTHER loopback port carrying the snippet sends a page view,
then a form submit: the contact is created and the earlier view lands on its timeline."""
from __future__ import annotations

import http.server
import threading
import time
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity, Contact
from crm.extensions import db
from crm.timeutil import utcnow
from crm.tracking.models import TrackingEvent
from tests.conftest import PASSWORD
from tests.crm.tracking.conftest import APPLE_MPP

pytestmark = pytest.mark.browser


def wait_until(check, timeout=15.0):
    """Poll the database (beacons are asynchronous) until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see other connections' commits
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.fixture
def customer_site(tmp_path):
    """A static site on its own loopback port: the customer's website."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def public_base(app, live_server):
    saved = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = live_server
    yield live_server
    app.config["PUBLIC_BASE_URL"] = saved


def _send_one_email(rep, contact, smtp_sink):
    from crm.mail.outbound.outbox import enqueue_email
    from crm.mail.outbound.sender import send_due

    now = utcnow()
    enqueue_email(sender=rep, contact=contact, to_address=contact.email, subject="Pricing follow-up",
                  text_body="Hi Ana, the pricing is attached.",
                  html_body="<p>Hi Ana,</p><p>The <a href=\"https://www.example.com/pricing\">pricing</a>.</p>",
                  due_at=now - timedelta(minutes=1), now=now - timedelta(minutes=1))
    db.session.commit()
    send_due(now)
    db.session.commit()
    [received] = smtp_sink.wait_for(1)
    html = received.message.get_body(preferencelist=("html",)).get_content()
    assert "/t/o/" in html
    return html


def test_an_email_opened_in_chromium_is_a_human_open_and_mpp_is_a_proxy(
        chromium, page, public_base, customer_site, smtp_sink, make_user, make_contact):
    from crm.scoring.models import ContactScore

    rep = make_user("rep", name="Rita Rep", email="rita@acme-sales.com")
    ana = make_contact(first_name="Ana", last_name="Ruiz", email="ana@buyer-corp.example", owner_id=rep.id)
    html = _send_one_email(rep, ana, smtp_sink)
    directory, site = customer_site
    (directory / "mail.html").write_text(f"<!doctype html><html><body>{html}</body></html>")

    page.goto(f"{site}/mail.html")
    opened = wait_until(lambda: db.session.scalars(select(TrackingEvent)).all())
    assert [(e.kind, e.verdict, e.contact_id) for e in opened] == [("email_opened", "human", ana.id)]
    assert "HeadlessChrome" in opened[0].user_agent  # a real browser fetched it
    score = wait_until(lambda: db.session.get(ContactScore, ana.id))
    engagement = score.engagement

    mpp = chromium.new_context(user_agent=APPLE_MPP)
    try:
        mpp.new_page().goto(f"{site}/mail.html")
        events = wait_until(lambda: len(db.session.scalars(select(TrackingEvent)).all()) == 2 and
                            db.session.scalars(select(TrackingEvent).order_by(TrackingEvent.id)).all())
    finally:
        mpp.close()
    assert (events[1].verdict, events[1].user_agent) == ("privacy_proxy", APPLE_MPP)
    db.session.expire_all()
    assert db.session.get(ContactScore, ana.id).engagement == pytest.approx(engagement, rel=1e-6)


def test_snippet_page_view_then_form_submit_lands_on_the_timeline(page, app, live_server, customer_site,
                                                                  admin, make_user, login):
    from crm.tracking.origins import add_origin

    directory, site = customer_site
    add_origin(admin, site, utcnow())
    db.session.commit()
    snippet = f'<script async src="{live_server}/t/snippet.js"></script>'
    (directory / "pricing.html").write_text(
        f"<!doctype html><html><head><title>Pricing</title>{snippet}</head><body><h1>Pricing</h1>"
        f'<a id="contact" href="contact.html">Talk to sales</a></body></html>')
    (directory / "contact.html").write_text(
        f"<!doctype html><html><head><title>Contact us</title>{snippet}</head><body>"
        '<form action="thanks.html" method="get"><input type="email" name="email">'
        '<input name="first_name"><input name="last_name"><input type="password" name="password">'
        '<button type="submit">Send</button></form></body></html>')
    (directory / "thanks.html").write_text("<!doctype html><title>Thanks</title><p>Thanks!</p>")
    (directory / "favicon.ico").write_bytes(b"")  # no 404 in the console

    page.goto(f"{site}/pricing.html")
    assert wait_until(lambda: db.session.scalars(select(TrackingEvent)).all())
    page.click("#contact")
    page.wait_for_url("**/contact.html")
    page.fill("input[name=email]", "ben.lee@buyer-corp.example")
    page.fill("input[name=first_name]", "Ben")
    page.fill("input[name=last_name]", "Lee")
    page.fill("input[name=password]", "never-sent-anywhere")
    page.click("button[type=submit]")
    page.wait_for_url("**/thanks.html*")

    contact = wait_until(
        lambda: db.session.scalar(select(Contact).where(Contact.email == "ben.lee@buyer-corp.example")))
    assert contact is not None and (contact.first_name, contact.last_name) == ("Ben", "Lee")
    views = wait_until(lambda: db.session.scalars(select(Activity).where(
        Activity.contact_id == contact.id, Activity.kind == "page_viewed").order_by(Activity.occurred_at)).all())
    assert [a.details["url"] for a in views][:2] == [f"{site}/pricing.html", f"{site}/contact.html"]
    assert db.session.scalar(select(Activity).where(Activity.contact_id == contact.id,
                                                    Activity.kind == "form_submitted")) is not None
    assert "never-sent-anywhere" not in str([e.details for e in views])
    assert page.console_errors == []

    # the rep sees it on the contact page
    rep = make_user("rep", name="Rita Rep", email="rita@acme-sales.com")
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", rep.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts")
    page.goto(f"{live_server}/contacts/{contact.id}")
    assert "Pricing" in page.locator("#tracking-panel").inner_text()
    assert f"{site}/pricing.html" in page.locator("#timeline").inner_text() or \
        "Pricing" in page.locator("#timeline").inner_text()
    page.screenshot(path="/tmp/tracking_contact.png", full_page=True)
