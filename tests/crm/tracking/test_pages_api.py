"""Contact panel, admin origins page, API (events, ingest, recompute), CLI, live intent."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.tracking.models import TrackedOrigin, TrackingEvent
from tests.conftest import NOW, csrf_from
from tests.crm.tracking.conftest import APPLE_MPP, CHROME, SENT_AT, SITE


def test_contact_panel_marks_machine_events_and_counts_humans(client, login, alice, at, pixel_path, ana):
    at(NOW)
    client.get(pixel_path, headers={"User-Agent": APPLE_MPP})
    at(NOW + timedelta(minutes=5))
    client.get(pixel_path, headers={"User-Agent": CHROME})
    login(client, alice)
    html = client.get(f"/contacts/{ana.id}").get_data(as_text=True)
    assert 'id="tracking-panel"' in html
    assert html.count('data-verdict="privacy_proxy"') == 1 and html.count('data-verdict="human"') == 1
    assert "machine: privacy proxy" in html and "1 opens" in html


def test_contact_page_query_count_does_not_grow_with_events(client, login, alice, at, pixel_path, ana, count_queries):
    login(client, alice)
    at(NOW)
    client.get(pixel_path, headers={"User-Agent": CHROME})
    with count_queries() as few:
        client.get(f"/contacts/{ana.id}")
    for minute in range(2, 12):
        at(NOW + timedelta(minutes=minute))
        client.get(pixel_path, headers={"User-Agent": CHROME})
    with count_queries() as many:
        client.get(f"/contacts/{ana.id}")
    assert many.count <= few.count


def test_admin_adds_and_removes_origins(client, login, admin):
    login(client, admin)
    page = client.get("/tracking/admin/origins")
    token = csrf_from(page.get_data(as_text=True))
    assert "/t/snippet.js" in page.get_data(as_text=True)
    for bad in ("ftp://x.example", "https://x.example/path", "not a url"):
        assert client.post("/tracking/admin/origins", data={"origin": bad, "csrf_token": token}).status_code == 422
    assert client.post("/tracking/admin/origins", data={"origin": "HTTPS://WWW.Acme-Pumps.example:443/",
                                                        "csrf_token": token}).status_code == 302
    assert db.session.scalars(select(TrackedOrigin.origin)).all() == [SITE]
    assert client.post("/tracking/admin/origins", data={"origin": SITE, "csrf_token": token}).status_code == 409
    origin_id = db.session.scalar(select(TrackedOrigin.id))
    client.post(f"/tracking/admin/origins/{origin_id}/delete", data={"csrf_token": token})
    assert db.session.scalars(select(TrackedOrigin)).all() == []


def test_api_lists_events_with_verdicts(client, api_token, alice, at, pixel_path, ana):
    at(NOW)
    client.get(pixel_path, headers={"User-Agent": APPLE_MPP})
    at(NOW + timedelta(minutes=5))
    client.get(pixel_path, headers={"User-Agent": CHROME})
    headers = api_token(alice)
    body = client.get(f"/api/v1/tracking/events?contact_id={ana.id}", headers=headers).get_json()
    assert [(e["kind"], e["verdict"]) for e in body["items"]] == [
        ("email_opened", "human"), ("email_opened", "privacy_proxy")]
    human = client.get("/api/v1/tracking/events?verdict=human", headers=headers).get_json()
    assert human["total"] == 1
    assert client.get("/api/v1/tracking/events?verdict=robot", headers=headers).status_code == 422
    spec = client.get("/api/v1/openapi.json", headers=headers).get_json()
    assert {"/tracking/events", "/tracking/companies-visiting", "/tracking/recompute-verdicts"} <= {
        p.removeprefix("/api/v1") for p in spec["paths"]}


def test_api_ingest_stores_good_events_and_rejects_bad(client, api_token, admin, alice):
    headers = api_token(admin)
    events = [{"type": "page_view", "url": SITE + "/a"}, {"type": "page_view", "url": "ftp://x"}]
    response = client.post("/api/v1/tracking/events", json={"visitor": "z" * 20, "events": events,
                                                            "ip": "203.0.113.1", "user_agent": CHROME},
                           headers=headers)
    assert response.status_code == 200
    assert (response.get_json()["accepted"], response.get_json()["rejected"]) == (1, 1)
    response = client.post("/api/v1/tracking/events", json={"visitor": "z" * 20, "events": [{"x": 1}]},
                           headers=headers)
    assert response.status_code == 422 and "events.0" in response.get_json()["error"]["fields"]
    assert client.post("/api/v1/tracking/events", json={"visitor": "z" * 20, "events": events},
                       headers=api_token(alice)).status_code == 403


def test_recompute_verdicts_after_a_rule_change(app, client, at, click_paths, sent_email, admin, api_token):
    """A click 15 s after delivery is human under the 10 s rule and a scanner under 30 s."""
    from crm.tracking import verdicts
    from crm.tracking.recompute import recompute_verdicts

    at(SENT_AT + timedelta(seconds=15))
    client.get(click_paths[0], headers={"User-Agent": CHROME})
    event = db.session.scalars(select(TrackingEvent)).one()
    assert event.verdict == "human"
    result = recompute_verdicts(verdicts.Rules(click_after_delivery_seconds=30))
    db.session.commit()
    assert (result.examined, result.changed) == (1, 1)
    db.session.refresh(event)
    db.session.refresh(sent_email)
    assert (event.verdict, event.reason) == ("scanner", "clicked 15 s after delivery")
    assert db.session.get(Activity, event.activity_id).details["verdict"] == "scanner"
    assert sent_email.first_human_click_at is None
    # back to the default rules, through the API: a job the worker runs (crm/tracking/background.py)
    from crm.jobs.runner import run_queued_jobs

    response = client.post("/api/v1/tracking/recompute-verdicts", headers=api_token(admin))
    assert response.status_code == 202
    run_queued_jobs(NOW)
    body = client.get(response.headers["Location"], headers=api_token(admin)).get_json()
    assert (body["status"], body["result"]) == ("done", {"examined": 1, "changed": 1})
    db.session.refresh(sent_email)
    assert sent_email.first_human_click_at == SENT_AT + timedelta(seconds=15)


def test_recompute_cli(app, at, client, pixel_path):
    at(NOW)
    client.get(pixel_path, headers={"User-Agent": CHROME})
    result = app.test_cli_runner().invoke(args=["crm", "tracking", "recompute-verdicts"])
    assert result.exit_code == 0 and "0 of 1 event changed verdict" in result.output


def test_recent_human_intent_for_the_owner(client, at, pixel_path, click_paths, ana, rep, bob, tracked_site):
    from crm.tracking.services import recent_human_intent

    at(NOW - timedelta(hours=1))
    client.get(pixel_path, headers={"User-Agent": CHROME})
    at(NOW - timedelta(minutes=5))
    client.get(pixel_path, headers={"User-Agent": APPLE_MPP})  # machine: ignored
    intents = recent_human_intent(rep.id, NOW - timedelta(days=1))
    assert [(i.contact_id, i.kind, i.label) for i in intents] == [
        (ana.id, "email_opened", "opened 'Pricing follow-up'")]
    at(NOW - timedelta(minutes=1))
    client.get(click_paths[0], headers={"User-Agent": CHROME})
    [latest] = recent_human_intent(rep.id, NOW - timedelta(days=1))
    assert (latest.kind, latest.occurred_at) == ("email_clicked", NOW - timedelta(minutes=1))
    assert recent_human_intent(bob.id, NOW - timedelta(days=1)) == []
    assert recent_human_intent(rep.id, NOW) == []
    # a hot page view by a known visitor counts, an ordinary one does not
    client.post("/t/form", data=json.dumps({"visitor": "k" * 20, "url": SITE + "/contact",
                                            "fields": {"email": ana.email}}),
                content_type="text/plain", headers={"Origin": SITE, "User-Agent": CHROME})
    client.post("/t/collect", data=json.dumps({"visitor": "k" * 20, "events": [
        {"type": "page_view", "url": SITE + "/blog"}]}), content_type="text/plain",
        headers={"Origin": SITE, "User-Agent": CHROME})
    assert recent_human_intent(rep.id, NOW - timedelta(days=1))[0].kind == "email_clicked"
    at(NOW + timedelta(minutes=1))
    client.post("/t/collect", data=json.dumps({"visitor": "k" * 20, "events": [
        {"type": "page_view", "url": SITE + "/pricing"}]}), content_type="text/plain",
        headers={"Origin": SITE, "User-Agent": CHROME})
    first = recent_human_intent(rep.id, NOW - timedelta(days=1))[0]
    assert (first.kind, first.label) == ("page_viewed", "read /pricing")
