"""Open pixel and click redirect: behaviour, open-redirect attempts, verdict side effects."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.tracking.email import instrument_html
from crm.tracking.models import TrackingEvent, TrackingLink
from tests.conftest import NOW
from tests.crm.tracking.conftest import APPLE_MPP, CHROME, GMAIL_PROXY, HTML, PIXEL_RE, SENT_AT, TOKEN_RE


def events(kind=None):
    query = select(TrackingEvent).order_by(TrackingEvent.id)
    if kind:
        query = query.where(TrackingEvent.kind == kind)
    return db.session.scalars(query).all()


def test_instrument_rewrites_only_http_links_and_appends_a_pixel(app, ana):
    with app.test_request_context():
        html = instrument_html(HTML, outbound_email_id=7, contact_id=ana.id)
    db.session.commit()
    tokens = TOKEN_RE.findall(html)
    assert len(tokens) == 2  # pricing and the guide; not mailto, javascript: or our own app
    assert 'href="mailto:sales@acme.example"' in html and 'href="javascript:alert(1)"' in html
    assert 'href="http://crm.example.com/u/abc"' in html
    assert "acme-pumps.example/pricing" not in html  # the destination is stored, not carried
    links = db.session.scalars(select(TrackingLink).where(TrackingLink.kind == "click").order_by(TrackingLink.id)).all()
    assert [link.url for link in links] == ["https://www.acme-pumps.example/pricing?plan=pro&x=1",
                                            "https://docs.example.org/guide"]
    assert html.index('src="http://crm.example.com/t/o/') < html.index("</body>")
    assert len(PIXEL_RE.findall(html)) == 1
    assert instrument_html("", outbound_email_id=7, contact_id=None) == ""


def test_the_pixel_is_a_real_uncached_gif_and_records_a_human_open(client, at, pixel_path, sent_email, ana, rep):
    from crm.alerts.models import Alert
    from crm.scoring.models import ContactScore

    at(NOW)
    response = client.get(pixel_path, headers={"User-Agent": CHROME}, environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert response.status_code == 200 and response.mimetype == "image/gif"
    assert response.data.startswith(b"GIF89a") and len(response.data) == 43
    assert "no-store" in response.headers["Cache-Control"] and response.headers["Pragma"] == "no-cache"
    [event] = events()
    assert (event.kind, event.verdict, event.ip, event.user_agent, event.contact_id) == (
        "email_opened", "human", "203.0.113.5", CHROME, ana.id)
    activity = db.session.get(Activity, event.activity_id)
    assert activity.kind == "email_opened" and activity.contact_id == ana.id
    assert activity.details["verdict"] == "human" and activity.details["subject"] == "Pricing follow-up"
    assert activity.details["ip"] == "203.0.113.5" and activity.details["user_agent"] == CHROME
    db.session.refresh(sent_email)
    assert sent_email.first_human_open_at == NOW
    assert db.session.get(ContactScore, ana.id).engagement > 0
    alert = db.session.scalars(select(Alert)).one()
    assert alert.user_id == rep.id and alert.message == "Ana Ruiz is reading 'Pricing follow-up' now: call"


@pytest.mark.parametrize("agent, reason", [
    (APPLE_MPP, "Apple Mail Privacy Protection (user agent)"), (GMAIL_PROXY, "Gmail image proxy")])
def test_proxy_opens_are_recorded_but_move_nothing(client, at, pixel_path, sent_email, ana, agent, reason):
    from crm.alerts.models import Alert
    from crm.scoring.models import ContactScore

    at(NOW)
    assert client.get(pixel_path, headers={"User-Agent": agent}).status_code == 200
    [event] = events()
    assert (event.verdict, event.reason) == ("privacy_proxy", reason)
    assert db.session.get(Activity, event.activity_id).details["verdict"] == "privacy_proxy"
    db.session.refresh(sent_email)
    assert sent_email.first_human_open_at is None
    score = db.session.get(ContactScore, ana.id)
    assert score is None or score.engagement == 0
    assert db.session.scalars(select(Alert)).all() == []


def test_a_click_redirects_to_the_stored_destination(client, at, click_paths, sent_email):
    at(SENT_AT + timedelta(minutes=5))
    response = client.get(click_paths[0], headers={"User-Agent": CHROME})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://www.acme-pumps.example/pricing?plan=pro&x=1"
    [event] = events()
    assert (event.kind, event.verdict, event.url) == ("email_clicked", "human", response.headers["Location"])
    db.session.refresh(sent_email)
    assert sent_email.first_human_click_at == SENT_AT + timedelta(minutes=5)


@pytest.mark.parametrize("path", [
    "/t/c/AAAAAAAAAAAAAAAAAAAAAA", "/t/c/%2F%2Fevil.example", "/t/c///evil.example", "/t/c/javascript:alert(1)",
    "/t/c/..%2F..%2Fevil", "/t/c/%5C%5Cevil.example", "/t/c/\\\\evil.example", "/t/c/x?url=https://evil.example",
    "/t/c/", "/t/o/AAAAAAAAAAAAAAAAAAAAAA.gif", "/t/o/%2F%2Fevil.gif",
])
def test_unknown_or_tampered_tokens_are_404_and_never_redirect(client, click_paths, path):
    response = client.get(path, headers={"User-Agent": CHROME})
    assert response.status_code == 404, path
    assert "Location" not in response.headers
    assert events() == []


def test_a_tampered_token_is_404(client, click_paths):
    token = click_paths[0].rsplit("/", 1)[1]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get("/t/c/" + flipped).status_code == 404
    assert client.get(click_paths[0] + "x").status_code == 404


def test_a_stored_destination_that_is_not_http_is_never_redirected_to(client, ana):
    for bad in ("javascript:alert(1)", "//evil.example", "https:/\\evil.example", "data:text/html,x"):
        link = TrackingLink(token=f"tok{len(bad):02d}xxxxxxxxxxxxxxxxxx"[:22], kind="click", outbound_email_id=None,
                            contact_id=ana.id, url=bad)
        db.session.add(link)
        db.session.commit()
        response = client.get(f"/t/c/{link.token}")
        assert response.status_code == 404 and "Location" not in response.headers, bad
        db.session.delete(link)
        db.session.commit()


def test_a_click_seconds_after_delivery_is_a_scanner_and_head_records_nothing(client, at, click_paths, sent_email):
    at(SENT_AT + timedelta(seconds=2))
    assert client.get(click_paths[0], headers={"User-Agent": CHROME}).status_code == 302
    at(SENT_AT + timedelta(minutes=10))
    head = client.head(click_paths[1], headers={"User-Agent": CHROME})
    assert head.status_code == 302 and head.headers["Location"]  # answered like a GET...
    assert client.head(click_paths[1] + "x").status_code == 404
    assert [(e.verdict, e.reason) for e in events()] == [("scanner", "clicked 2 s after delivery")]  # ...not recorded
    db.session.refresh(sent_email)
    assert sent_email.first_human_click_at is None


def test_a_burst_of_clicks_marks_every_click_of_it(client, at, click_paths, sent_email):
    moment = SENT_AT + timedelta(minutes=30)
    at(moment)
    client.get(click_paths[0], headers={"User-Agent": CHROME})
    db.session.refresh(sent_email)
    assert sent_email.first_human_click_at == moment  # looked human on its own
    at(moment + timedelta(milliseconds=300))
    client.get(click_paths[1], headers={"User-Agent": CHROME})
    assert {e.verdict for e in events()} == {"scanner"}
    db.session.refresh(sent_email)
    assert sent_email.first_human_click_at is None


def test_a_reload_is_a_duplicate_and_counts_once(client, at, pixel_path, sent_email):
    from crm.scoring.models import ContactScore

    at(NOW)
    client.get(pixel_path, headers={"User-Agent": CHROME})
    engagement = db.session.get(ContactScore, sent_email.contact_id).engagement
    at(NOW + timedelta(seconds=20))
    client.get(pixel_path, headers={"User-Agent": CHROME})
    assert [e.verdict for e in events()] == ["human", "duplicate"]
    db.session.expire_all()
    assert db.session.get(ContactScore, sent_email.contact_id).engagement == pytest.approx(engagement, rel=1e-3)


def test_an_open_of_an_email_to_a_deleted_contact_still_answers(client, at, pixel_path, ana, admin):
    from crm.contacts.services import delete_contact

    delete_contact(admin, ana.id)
    db.session.commit()
    assert client.get(pixel_path).status_code == 404  # its tokens went with the contact


def test_pixel_rate_limit_per_address(app, client, pixel_path):
    app.config["TRACKING_PIXEL_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [client.get(pixel_path, headers={"User-Agent": CHROME}).status_code for _ in range(5)]
    finally:
        app.config["TRACKING_PIXEL_RATE_LIMIT"] = "1200 per minute"
    assert codes == [200, 200, 200, 429, 429]


def test_an_email_sent_through_the_outbox_carries_tracking_that_records_opens(app, client, smtp_sink, rep, ana):
    """Mail instruments the HTML part when it sends; the pixel and links in what the SMTP
    server received resolve here (the plain-text part is left alone)."""
    from crm.mail.outbound.outbox import enqueue_email
    from crm.mail.outbound.sender import send_due
    from crm.timeutil import utcnow

    now = utcnow()
    email = enqueue_email(sender=rep, contact=ana, to_address=ana.email, subject="Pricing follow-up",
                          text_body="See https://www.example.com/pricing",
                          html_body='<p>See <a href="https://www.example.com/pricing">pricing</a></p>',
                          due_at=now - timedelta(minutes=1), now=now - timedelta(minutes=1))
    db.session.commit()
    send_due(now)
    db.session.commit()
    [received] = smtp_sink.wait_for(1)
    html = received.message.get_body(preferencelist=("html",)).get_content()
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    assert "/t/c/" not in text and "https://www.example.com/pricing" in text
    pixel = PIXEL_RE.search(html).group(0)
    [click] = TOKEN_RE.findall(html)
    assert client.get(pixel, headers={"User-Agent": CHROME}).status_code == 200
    later = client.get(f"/t/c/{click}", headers={"User-Agent": CHROME})
    assert later.headers["Location"] == "https://www.example.com/pricing"
    kinds = [(e.kind, e.outbound_email_id, e.contact_id) for e in events()]
    assert kinds == [("email_opened", email.id, ana.id), ("email_clicked", email.id, ana.id)]
