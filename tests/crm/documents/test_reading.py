"""Reading through a share link: time per page summed from the viewer's beacons (a reader
leaving mid-page included), machines' sessions stored but counted nowhere, the claim of the
first browser, revoked and expired links, and what a person reading sets off (timeline, score,
the rep's alert)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.alerts.models import Alert
from crm.contacts.models import Activity
from crm.documents import services
from crm.documents.models import ContentView
from crm.errors import NotFound, ValidationFailed
from crm.extensions import db, limiter
from crm.scoring.models import ScoreEvent
from tests.conftest import NOW
from tests.crm.documents.conftest import browser

READER = "reader-key-aaaaaaaaaaaaaaaa"
VIEW = "view-key-1111111111111111"


def beacon(token, page=None, seconds=0.0, *, view=VIEW, reader=READER, request=None, at=NOW, percent=None):
    data = {"view": view, "page": page, "seconds": seconds}
    if percent is not None:
        data["percent"] = percent
    result = services.record_beacon(token, reader, data, request or browser(), at)
    db.session.commit()
    return result


def seconds_per_page(rep, item):
    return {p["page"]: p["seconds"] for p in services.item_analytics(rep, item.id)["seconds_per_page"]}


def test_time_per_page_sums_the_beacons_of_every_reading_session(rep, shared, ready_document):
    _link, token = shared
    beacon(token, 1, 0)  # the viewer opens: the session starts
    beacon(token, 1, 12.5)  # moved to page 2 after 12.5 s
    beacon(token, 2, 30)  # ... to page 3
    beacon(token, 3, 15)  # periodic flush while reading page 3
    beacon(token, 3, 4.5, at=NOW + timedelta(seconds=50))  # left the tab mid-page (pagehide)
    beacon(token, 2, 20, view="view-key-2222222222222222", at=NOW + timedelta(hours=1))  # came back later
    assert seconds_per_page(rep, ready_document) == {1: 12.5, 2: 50.0, 3: 19.5, 4: 0.0, 5: 0.0}
    found = services.item_analytics(rep, ready_document.id)
    assert found["views"] == 2 and found["unique_viewers"] == 1 and found["accounts_reached"] == 1
    assert found["readers"][0]["seconds"] == pytest.approx(82.0)


@pytest.mark.parametrize("agent, ip", [
    ("Mozilla/5.0 (compatible; Barracuda Sentinel)", "198.51.100.9"),
    ("python-requests/2.31", "198.51.100.9"),
    ("", "198.51.100.9"),
    ("Mozilla/5.0 (Windows NT 10.0) Chrome/126.0", "40.107.22.5"),  # Microsoft Safe Links range
])
def test_a_scanners_session_is_stored_but_counts_nowhere(rep, shared, ready_document, prospect, agent, ip):
    link, token = shared
    view = beacon(token, 1, 0, request=browser(ip=ip, agent=agent))
    beacon(token, 1, 200, request=browser(ip=ip, agent=agent))
    assert view.verdict == "scanner"
    assert seconds_per_page(rep, ready_document)[1] == 0.0
    found = services.item_analytics(rep, ready_document.id)
    assert (found["views"], found["machine_views"], found["unique_viewers"]) == (0, 1, 0)
    assert db.session.scalar(select(Activity.id).where(Activity.kind == "document_viewed")) is None
    assert db.session.scalar(select(Alert.id)) is None
    assert db.session.get(type(link), link.id).claimed_key is None  # a machine never claims the link
    # and the person who opens it afterwards is the prospect, no email asked
    assert services.reader_of(db.session.get(type(link), link.id), "a-real-browser-key-xxxxx") == prospect.id


def test_a_person_reading_is_on_the_timeline_in_the_score_and_alerts_the_rep(rep, shared, ready_document, prospect):
    _link, token = shared
    beacon(token, 1, 0)
    beacon(token, 1, 20)
    beacon(token, 2, 40)
    beacon(token, 3, 6, view="view-key-3333333333333333")  # a second session: one more entry
    activities = db.session.scalars(select(Activity).where(Activity.kind == "document_viewed")
                                    .order_by(Activity.id)).all()
    assert [a.contact_id for a in activities] == [prospect.id, prospect.id]
    assert activities[0].details["title"] == "Northwind proposal"
    assert (activities[0].details["pages_read"], activities[0].details["seconds"]) == (2, 60)
    assert activities[0].company_id == prospect.company_id
    assert db.session.scalars(select(ScoreEvent.kind).where(ScoreEvent.contact_id == prospect.id)).all() == [
        "document_viewed", "document_viewed"]
    alerts = db.session.scalars(select(Alert).where(Alert.user_id == rep.id)).all()
    assert len(alerts) == 1  # hot-lead alerts collapse within 15 minutes
    assert "Paula Prospect is reading 'Northwind proposal' now" in alerts[0].message


def test_the_first_browser_claims_the_link_and_another_is_asked_who_it_is(shared, prospect):
    link, token = shared
    assert services.reader_of(link, READER) == prospect.id
    beacon(token, 1, 0)
    link = db.session.get(type(link), link.id)
    assert link.claimed_key == READER and link.claimed_at == NOW
    assert services.reader_of(link, READER) == prospect.id
    assert services.reader_of(link, "another-browser-key-zzzzzz") is None
    assert services.reader_of(link, None) is None
    assert beacon(token, 1, 5, reader="another-browser-key-zzzzzz") is None  # nothing recorded


def test_revoked_and_expired_links_are_gone(rep, shared, ready_document, prospect, clock):
    link, token = shared
    services.revoke_link(rep, link.id, NOW)
    db.session.commit()
    with pytest.raises(services.LinkGone, match="turned off"):
        services.open_link(token, NOW)
    expiring = services.create_link(rep, ready_document.id, {"contact_id": prospect.id,
                                                             "expires_at": (NOW + timedelta(days=7)).isoformat()}, NOW)
    db.session.commit()
    token = services.link_token(expiring)
    assert services.open_link(token, NOW + timedelta(days=6)).id == expiring.id
    with pytest.raises(services.LinkGone, match="expired"):
        services.open_link(token, NOW + timedelta(days=7))


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature altered
    lambda t: "9" + t,  # another link id under the same signature
    lambda t: "",
    lambda t: "x" * 300,
])
def test_a_bad_token_is_not_found(shared, mangle):
    _link, token = shared
    with pytest.raises(NotFound):
        services.open_link(mangle(token), NOW)


def test_a_link_in_the_past_is_refused(rep, ready_document, prospect):
    with pytest.raises(ValidationFailed) as refused:
        services.create_link(rep, ready_document.id, {"contact_id": prospect.id,
                                                      "expires_at": (NOW - timedelta(minutes=1)).isoformat()}, NOW)
    assert "expires_at" in refused.value.fields


@pytest.mark.parametrize("data, field", [
    ({"view": "short", "page": 1, "seconds": 1}, "view"),
    ({"view": VIEW, "page": 0, "seconds": 1}, "page"),
    ({"view": VIEW, "page": 6, "seconds": 1}, "page"),  # the document has 5
    ({"view": VIEW, "page": 1, "seconds": -1}, "seconds"),
    ({"view": VIEW, "page": 1, "seconds": 999999}, "seconds"),
    ({"view": VIEW, "page": 1, "seconds": "NaN"}, "seconds"),
    ({"view": VIEW, "percent": 33}, "percent"),
])
def test_bad_beacons_are_refused_with_the_field_named(shared, data, field):
    _link, token = shared
    with pytest.raises(ValidationFailed) as refused:
        services.record_beacon(token, READER, data, browser(), NOW)
    assert field in refused.value.fields


def test_the_viewer_pages_and_beacons_over_http(client, shared, ready_document):
    _link, token = shared
    page = client.get(f"/d/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="viewer-page"') == 5 and "documents_viewer.js" in html and "<script>" not in html
    assert "crm_reader=" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
    assert page.headers["Cache-Control"] == "private, no-store"
    with client.get(f"/d/{token}/p/2.png") as image:
        assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    assert client.get(f"/d/{token}/p/9.png").status_code == 404
    sent = client.post(f"/d/{token}/beacon", data='{"view": "%s", "page": 2, "seconds": 7}' % VIEW,
                       headers={"User-Agent": "Mozilla/5.0 Chrome/126.0", "Content-Type": "text/plain"})
    assert sent.status_code == 204
    assert client.post(f"/d/{token}/beacon", data="[]").status_code == 422
    assert client.post(f"/d/{token}/beacon", data='{"view": "x"}').status_code == 422
    assert db.session.scalar(select(ContentView.total_seconds)) == 7.0
    assert client.get(f"/d/{token}/download").status_code == 404  # not allowed on this link


def test_gone_and_unknown_links_over_http(client, rep, shared):
    link, token = shared
    assert client.get("/d/nonsense").status_code == 404
    services.revoke_link(rep, link.id, NOW)
    db.session.commit()
    gone = client.get(f"/d/{token}")
    assert gone.status_code == 410 and "turned off" in gone.get_data(as_text=True)
    assert client.get(f"/d/{token}/p/1.png").status_code == 410
    assert client.post(f"/d/{token}/beacon", data='{"view": "%s"}' % VIEW).status_code == 410


def test_a_download_allowed_link_serves_the_pdf(client, rep, ready_document, prospect):
    link = services.create_link(rep, ready_document.id, {"contact_id": prospect.id, "allow_download": True}, NOW)
    db.session.commit()
    with client.get(f"/d/{services.link_token(link)}/download") as got:
        assert got.status_code == 200 and got.data.startswith(b"%PDF-")
        assert "attachment" in got.headers["Content-Disposition"]


def test_the_public_viewer_and_the_forward_gate_are_rate_limited(app, client, shared):
    _link, token = shared
    saved = app.config["DOCUMENTS_VIEWER_RATE_LIMIT"], app.config["DOCUMENTS_FORWARD_RATE_LIMIT"]
    app.config["DOCUMENTS_VIEWER_RATE_LIMIT"] = "3 per minute"
    app.config["DOCUMENTS_FORWARD_RATE_LIMIT"] = "1 per minute"
    try:
        assert [client.get(f"/d/{token}").status_code for _ in range(4)] == [200, 200, 200, 429]
        limiter.reset()
        app.config["DOCUMENTS_VIEWER_RATE_LIMIT"] = "100 per minute"
        gate = [client.post(f"/d/{token}/who", data={"email": "a@b.example", "reader": "x"}).status_code
                for _ in range(2)]
        assert gate == [400, 429]  # no reader cookie: refused; then the gate's own limit
    finally:
        app.config["DOCUMENTS_VIEWER_RATE_LIMIT"], app.config["DOCUMENTS_FORWARD_RATE_LIMIT"] = saved
