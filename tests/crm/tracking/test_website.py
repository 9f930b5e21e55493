"""The snippet, page-view intake (CORS, batches), form capture and visitor stitching."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity, Contact
from crm.extensions import db
from crm.tracking.models import TrackingEvent, Visitor
from tests.conftest import NOW
from tests.crm.tracking.conftest import CHROME, SENT_AT, SITE

VISITOR = "v" * 8 + "0123456789abcdef"


def beacon(client, path, body, origin=SITE, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    hdrs = {"User-Agent": CHROME, **headers}
    if origin:
        hdrs["Origin"] = origin
    return client.post(path, data=data, content_type="text/plain;charset=UTF-8", headers=hdrs,
                       environ_base={"REMOTE_ADDR": headers.pop("ip", "198.51.100.20")})


def view(path="/", title="Home", referrer=""):
    return {"type": "page_view", "url": SITE + path, "title": title, "referrer": referrer}


def page_views():
    return db.session.scalars(select(TrackingEvent).where(TrackingEvent.kind == "page_viewed")
                              .order_by(TrackingEvent.id)).all()


def test_the_snippet_is_small_javascript_with_cache_headers(client):
    response = client.get("/t/snippet.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert len(response.data) < 8 * 1024
    body = response.get_data(as_text=True)
    assert "sendBeacon" in body and "text/plain" in body and "/t/collect" in body and "_pc" in body


def test_page_views_are_accepted_only_from_tracked_origins_with_cors(client, tracked_site):
    ok = beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view()]})
    assert ok.status_code == 200, ok.get_json()
    assert ok.headers["Access-Control-Allow-Origin"] == SITE and "Origin" in ok.headers["Vary"]
    assert "Set-Cookie" not in ok.headers
    for origin in ("https://evil.example", "http://www.acme-pumps.example", "null"):
        refused = beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view()]}, origin=origin)
        assert refused.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in refused.headers
    assert beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view()]}, origin=None).status_code == 400
    preflight = client.options("/t/collect", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == SITE
    assert client.options("/t/collect", headers={"Origin": "https://evil.example"}).status_code == 403
    assert len(page_views()) == 1


def test_an_anonymous_view_is_stored_without_a_contact(client, tracked_site):
    beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view("/pricing", "Pricing")]})
    [event] = page_views()
    assert (event.contact_id, event.label, event.title, event.verdict, event.high_value) == (
        None, "/pricing", "Pricing", "human", True)
    assert db.session.scalars(select(Activity).where(Activity.kind == "page_viewed")).all() == []


def test_a_batch_with_garbage_stores_the_good_ones_and_reports_the_bad(client, tracked_site):
    good = [view(f"/p{i}") for i in range(18)]
    bad = ["not an object", {"type": "click", "url": SITE + "/x"}]
    garbage = [{"type": "page_view", "url": "javascript:alert(1)"}, {"type": "page_view"},
               {"type": "page_view", "url": "https://evil.example/x"}, {"type": "page_view", "url": SITE, "title": 5}]
    items = good[:9] + bad + good[9:] + garbage
    response = beacon(client, "/t/collect", {"visitor": VISITOR, "events": items})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["accepted"], body["rejected"]) == (18, 6)
    rejected = {r["index"]: r["error"] for r in body["results"] if r["status"] == 400}
    assert set(rejected) == {9, 10, 20, 21, 22, 23}
    assert rejected[22] == "url: not on the site that sent it"
    assert len(page_views()) == 18


@pytest.mark.parametrize("body", [
    b"{", b"\xff\xfe", b"[]", b"null", b'"x"', json.dumps({"events": [view()]}),
    json.dumps({"visitor": "short", "events": [view()]}), json.dumps({"visitor": VISITOR}),
    json.dumps({"visitor": VISITOR, "events": []}), json.dumps({"visitor": VISITOR, "events": [view()] * 51}),
    json.dumps({"visitor": VISITOR, "events": ["garbage"]}), b"[" * 5000, b"x" * (70 * 1024),
])
def test_malformed_envelopes_are_400_json_and_store_nothing(client, tracked_site, body):
    response = beacon(client, "/t/collect", body)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]
    assert page_views() == [] and db.session.scalars(select(Visitor)).all() == []


def test_a_form_creates_the_contact_and_attaches_earlier_views(client, tracked_site, at):
    at(NOW - timedelta(days=2))
    beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view("/", "Home")]})
    at(NOW - timedelta(days=1))
    beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view("/pricing", "Pricing")]})
    at(NOW)
    response = beacon(client, "/t/form", {"visitor": VISITOR, "url": SITE + "/contact", "fields": {
        "email": " Ben.Lee@Buyer-Corp.example ", "name": "Ben Lee", "title": "VP Operations", "_hp": ""}})
    assert response.status_code == 201, response.get_json()
    contact = db.session.scalars(select(Contact)).one()
    assert (contact.email, contact.first_name, contact.last_name, contact.title) == (
        "ben.lee@buyer-corp.example", "Ben", "Lee", "VP Operations")
    assert contact.source == "web form /contact"
    kinds = db.session.execute(select(Activity.kind, Activity.occurred_at, Activity.details)
                               .where(Activity.contact_id == contact.id).order_by(Activity.occurred_at)).all()
    assert [(k, t) for k, t, _d in kinds if k in ("page_viewed", "form_submitted")] == [
        ("page_viewed", NOW - timedelta(days=2)), ("page_viewed", NOW - timedelta(days=1)),
        ("form_submitted", NOW)]
    assert kinds[-1][2]["url"] == SITE + "/contact" or any(d.get("url") == SITE + "/contact" for _k, _t, d in kinds)
    assert {e.contact_id for e in page_views()} == {contact.id}
    # later views go straight to the timeline
    beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view("/demo", "Demo")]})
    assert db.session.scalar(select(Activity).where(Activity.details["url"].as_string() == SITE + "/demo")) is not None


def test_a_form_updates_blanks_of_an_existing_contact_only(client, tracked_site, ana):
    response = beacon(client, "/t/form", {"url": SITE + "/contact", "fields": {
        "email": ana.email, "first_name": "Anita", "phone": "+34 600 000 000"}})
    assert response.status_code == 200
    db.session.refresh(ana)
    assert (ana.first_name, ana.phone) == ("Ana", "+34 600 000 000")


@pytest.mark.parametrize("fields", [
    {}, {"email": ""}, {"email": "not-an-email"}, {"email": "a@b"}, {"email": ["x@y.example"]},
    {"email": "ok@buyer.example", "first_name": {"a": 1}}, {"email": "ok@buyer.example", "first_name": "x" * 500},
    {"email": "ok@buyer.example", "phone": "\x00"},
])
def test_bad_form_input_is_400_json_and_changes_nothing(client, tracked_site, fields):
    response = beacon(client, "/t/form", {"visitor": VISITOR, "url": SITE + "/contact", "fields": fields})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == "bad_request"
    assert db.session.scalars(select(Contact)).all() == []
    assert db.session.scalars(select(TrackingEvent)).all() == []
    assert db.session.scalars(select(Visitor)).all() == []


def test_a_filled_honeypot_looks_accepted_but_stores_nothing(client, tracked_site):
    response = beacon(client, "/t/form", {"url": SITE, "fields": {"email": "bot@spam.example", "_hp": "http://x"}})
    assert response.status_code == 200
    assert db.session.scalars(select(Contact)).all() == []


def test_a_plain_html_form_post_is_captured_and_may_return_to_the_site(client, tracked_site):
    response = client.post("/t/form", data={"email": "cara@buyer-corp.example", "first_name": "Cara",
                                            "_next": SITE + "/thanks", "_hp": ""},
                           headers={"Origin": SITE, "Referer": SITE + "/contact", "User-Agent": CHROME})
    assert response.status_code == 303 and response.headers["Location"] == SITE + "/thanks"
    assert db.session.scalars(select(Contact.email)).all() == ["cara@buyer-corp.example"]
    # _next elsewhere is ignored (no open redirect)
    response = client.post("/t/form", data={"email": "dan@buyer-corp.example", "_next": "https://evil.example/"},
                           headers={"Origin": SITE, "User-Agent": CHROME})
    assert response.status_code == 201 and "Location" not in response.headers


def test_forms_from_untracked_sites_are_refused(client, tracked_site):
    response = beacon(client, "/t/form", {"fields": {"email": "x@buyer.example"}}, origin="https://evil.example")
    assert response.status_code == 403
    assert db.session.scalars(select(Contact)).all() == []


def test_form_rate_limit_per_address(app, client, tracked_site):
    app.config["TRACKING_FORM_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [beacon(client, "/t/form", {"fields": {"email": f"p{i}@buyer.example"}}).status_code
                 for i in range(4)]
    finally:
        app.config["TRACKING_FORM_RATE_LIMIT"] = "10 per minute;100 per day"
    assert codes == [201, 201, 429, 429]
    assert len(db.session.scalars(select(Contact)).all()) == 2


def test_a_tracked_email_click_stitches_the_visitor(client, tracked_site, at, ana, rep):
    """The click lands on the tracked site with a signed _pc; the snippet sends it along."""
    from crm.mail.outbound.outbox import enqueue_email
    from crm.tracking.email import instrument_html

    at(NOW - timedelta(days=3))
    beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view("/blog", "Blog")]})
    email = enqueue_email(sender=rep, contact=ana, to_address=ana.email, subject="Hello", text_body="x",
                          html_body=f'<a href="{SITE}/pricing">p</a><a href="https://other.example/">o</a>',
                          due_at=SENT_AT, now=SENT_AT)
    with client.application.test_request_context():
        html = instrument_html(email.html_body, outbound_email_id=email.id, contact_id=ana.id)
    email.sent_at = SENT_AT
    db.session.commit()
    from tests.crm.tracking.conftest import TOKEN_RE
    site_link, other_link = TOKEN_RE.findall(html)
    at(NOW)
    landed = client.get(f"/t/c/{site_link}", headers={"User-Agent": CHROME}).headers["Location"]
    assert landed.startswith(SITE + "/pricing?_pc=")
    other = client.get(f"/t/c/{other_link}", headers={"User-Agent": CHROME}).headers["Location"]
    assert other == "https://other.example/"  # the signed id never leaks to third parties
    pc = parse_qs(urlsplit(landed).query)["_pc"][0]
    forged = beacon(client, "/t/collect", {"visitor": "x" * 20, "pc": pc[:-2] + "zz", "events": [view("/pricing")]})
    assert forged.status_code == 200
    assert db.session.scalar(select(Visitor).where(Visitor.key == "x" * 20)).contact_id is None
    beacon(client, "/t/collect", {"visitor": VISITOR, "pc": pc, "events": [view("/pricing", "Pricing")]})
    visitor = db.session.scalar(select(Visitor).where(Visitor.key == VISITOR))
    assert (visitor.contact_id, visitor.identified_by) == (ana.id, "email_click")
    views = db.session.scalars(select(Activity).where(Activity.contact_id == ana.id, Activity.kind == "page_viewed")
                               .order_by(Activity.occurred_at)).all()
    assert [a.details["url"] for a in views] == [SITE + "/blog", SITE + "/pricing"]


def test_concurrent_first_views_of_one_visitor_make_one_visitor(app, tracked_site):
    """Two beacons of a new visitor at the same moment (two tabs): one row, two views."""
    import threading

    barrier = threading.Barrier(4)
    codes = []

    def send():
        client = app.test_client()
        barrier.wait()
        codes.append(beacon(client, "/t/collect", {"visitor": VISITOR, "events": [view()]}).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 4
    assert len(db.session.scalars(select(Visitor)).all()) == 1
    assert len(page_views()) == 4
