"""The calls API: the queue (and who may read whose), logging calls, time blocks, the feed URL."""
from __future__ import annotations

from datetime import timedelta

from crm.calls.queue import build_queue
from crm.contacts.models import Activity
from crm.extensions import db
from tests.crm.calls.conftest import NY_8AM


def test_a_rep_reads_their_queue_in_order(api, ny_rep, callee, live_intent, clock):
    clock.freeze(NY_8AM)  # before the 09:00-10:30 block: all of it is still ahead (18 calls)
    first, second = callee(), callee()
    live_intent(second.id, NY_8AM - timedelta(minutes=5))
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    response = api(ny_rep).get("/call-queue?date=2026-03-10")
    assert response.status_code == 200
    body = response.get_json()
    assert body["capacity"] == 18
    assert [(e["position"], e["contact_id"], e["reason_code"]) for e in body["entries"]] == [
        (1, second.id, "live_intent"), (2, first.id, "score")]
    entry = body["entries"][0]
    assert set(entry) >= {"position", "contact_id", "reason_code", "reason", "priority", "due_at"}
    assert entry["due_at"] == "2026-03-10T13:00:00+00:00"  # held to 09:00 in New York


def test_a_rep_cannot_read_another_reps_queue_but_their_manager_can(api, ny_rep, bob, charlie, mallory, admin, callee):
    callee()
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    path = f"/call-queue?date=2026-03-10&user_id={ny_rep.id}"
    assert api(bob).get(path).status_code == 403
    assert api(charlie).get(path).status_code == 403
    assert len(api(mallory).get(path).get_json()["entries"]) == 1
    assert len(api(admin).get(path).get_json()["entries"]) == 1
    assert api(mallory).get("/call-queue?user_id=999999").status_code == 404


def test_planners_have_no_queue(api, pat):
    assert api(pat).get("/call-queue").status_code == 403
    assert api(pat).post("/calls", json={"contact_id": 1, "outcome": "connected"}).status_code == 403


def test_log_a_call_and_the_second_log_of_the_entry_is_a_409(api, ny_rep, callee):
    contact = callee()
    entry = build_queue(ny_rep, NY_8AM)[0]
    db.session.commit()
    body = {"contact_id": contact.id, "outcome": "meeting_booked", "notes": "Demo Thursday",
            "duration_seconds": 300, "entry_id": entry.id}
    response = api(ny_rep).post("/calls", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["entry_id"] == entry.id
    again = api(ny_rep).post("/calls", json={**body, "outcome": "no_answer"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert db.session.query(Activity).filter_by(kind="call").count() == 1


def test_log_validation(api, ny_rep, callee):
    contact = callee()
    client = api(ny_rep)
    assert client.post("/calls", json={"contact_id": contact.id, "outcome": "maybe"}).status_code == 422
    response = client.post("/calls", json={"contact_id": contact.id, "outcome": "callback"})
    assert response.status_code == 422 and "callback_at" in response.get_json()["error"]["fields"]
    assert client.post("/calls", json={"contact_id": 999999, "outcome": "connected"}).status_code == 422
    ok = client.post("/calls", json={"contact_id": contact.id, "outcome": "callback",
                                     "callback_at": "2099-01-01T10:00:00+00:00"})
    assert ok.status_code == 422  # more than a year ahead


def test_another_reps_entry_cannot_be_logged(api, ny_rep, bob, callee):
    contact = callee()
    entry = build_queue(ny_rep, NY_8AM)[0]
    db.session.commit()
    response = api(bob).post("/calls", json={"contact_id": contact.id, "outcome": "connected", "entry_id": entry.id})
    assert response.status_code == 403


def test_time_blocks_and_feed_url(api, alice):
    client = api(alice)
    created = client.post("/time-blocks", json={"weekdays": [0, 2, 4], "start_time": "09:00", "end_time": "10:30"})
    assert created.status_code == 201, created.get_json()
    block = created.get_json()
    assert block["weekdays"] == "024" and block["time_zone"] == "UTC"
    assert [b["id"] for b in client.get("/time-blocks").get_json()["items"]] == [block["id"]]
    bad = client.post("/time-blocks", json={"weekdays": [0], "start_time": "11:00", "end_time": "10:00"})
    assert bad.status_code == 422 and "end_time" in bad.get_json()["error"]["fields"]
    url = client.get("/calendar-feed").get_json()["url"]
    assert url.startswith("http://crm.example.com/calls/feed/") and url.endswith(".ics")
    new = client.post("/calendar-feed").get_json()["url"]
    assert new != url
    assert client.delete(f"/time-blocks/{block['id']}").status_code == 204
    assert client.delete(f"/time-blocks/{block['id']}").status_code == 404


def test_a_rep_cannot_delete_anothers_block(api, alice, bob):
    block = api(alice).post("/time-blocks",
                            json={"weekdays": [0], "start_time": "09:00", "end_time": "10:00"}).get_json()
    assert api(bob).delete(f"/time-blocks/{block['id']}").status_code == 403


def test_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/call-queue", "/api/v1/calls", "/api/v1/time-blocks", "/api/v1/calendar-feed"} <= {
        p if p.startswith("/api/v1") else "/api/v1" + p for p in paths}
