"""The conversation-review API: request and response models, roles, 422s with fields."""
from __future__ import annotations

from pathlib import Path

import pytest

from crm.reviews import services
from tests.crm.reviews.conftest import SEGMENTS_JSON

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts"


@pytest.fixture
def reviewed(mallory, alice, make_recording, now):
    recording = make_recording(alice, duration=60.0)
    services.create_rubric(mallory, {"name": "Discovery", "criteria": [{"name": "Questions"}, {"name": "Close"}]},
                           now=now)
    services.db.session.commit()
    return recording


def test_comments_roundtrip_and_beyond_the_end_is_422(client, api_token, mallory, alice, reviewed):
    headers = api_token(mallory)
    url = f"/api/v1/recordings/{reviewed.id}/comments"
    created = client.post(url, json={"at_seconds": 12.5, "body": "Good question"}, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["at_seconds"] == 12.5 and created.json["author_name"] == "Mallory Manager"
    late = client.post(url, json={"at_seconds": 61, "body": "after the end"}, headers=headers)
    assert late.status_code == 422
    assert "at_seconds" in late.json["error"]["fields"]
    bad = client.post(url, json={"body": ""}, headers=headers)
    assert bad.status_code == 422
    reply = client.post(url, json={"parent_id": created.json["id"], "body": "and then?"}, headers=headers)
    assert reply.status_code == 201 and reply.json["at_seconds"] == 12.5
    listed = client.get(url, headers=headers).json["items"]
    assert [(c["body"], [r["body"] for r in c["replies"]]) for c in listed] == [("Good question", ["and then?"])]


def test_rep_reads_own_review_after_sharing_others_and_planners_get_nothing(
        client, api_token, mallory, alice, bob, pat, reviewed):
    manager, rep, other, planner = (api_token(u) for u in (mallory, alice, bob, pat))
    base = f"/api/v1/recordings/{reviewed.id}"
    client.post(f"{base}/comments", json={"at_seconds": 3, "body": "x"}, headers=manager)
    assert client.get(f"{base}/comments", headers=rep).status_code == 403  # not shared yet
    assert client.get(f"{base}/review", headers=rep).json["shared_at"] is None
    shared = client.post(f"{base}/share", json={"feedback": "Well done"}, headers=manager)
    assert shared.status_code == 200 and shared.json["shared_at"]
    assert client.get(f"{base}/comments", headers=rep).status_code == 200
    assert client.get(f"{base}/review", headers=rep).json["feedback"] == "Well done"
    for path in ("comments", "scorecards", "transcript", "tracker-hits", "review"):
        assert client.get(f"{base}/{path}", headers=other).status_code == 404, path
        assert client.get(f"{base}/{path}", headers=planner).status_code == 403, path
    assert client.post(f"{base}/comments", json={"at_seconds": 1, "body": "me"}, headers=rep).status_code == 403
    assert client.post(f"{base}/scorecards", json={"rubric_id": 1, "ratings": [{"criterion_id": 1, "rating": 3}]},
                       headers=rep).status_code == 403
    for path in ("/api/v1/trackers", "/api/v1/rubrics", "/api/v1/library/folders", "/api/v1/reviews/queue"):
        assert client.get(path, headers=planner).status_code == 403, path
    assert client.get("/api/v1/reviews/queue", headers=rep).status_code == 403


def test_scorecard_api(client, api_token, mallory, alice, reviewed):
    headers = api_token(mallory)
    rubric = client.get("/api/v1/rubrics", headers=headers).json["items"][0]
    ratings = [{"criterion_id": c["id"], "rating": r, "note": "ok"} for c, r in zip(rubric["criteria"], (5, 2))]
    url = f"/api/v1/recordings/{reviewed.id}/scorecards"
    created = client.post(url, json={"rubric_id": rubric["id"], "ratings": ratings}, headers=headers)
    assert created.status_code == 201 and created.json["score"] == 3.5
    assert [r["rating"] for r in created.json["ratings"]] == [5, 2]
    bad = client.post(url, json={"rubric_id": rubric["id"], "ratings": [{"criterion_id": rubric["criteria"][0]["id"],
                                                                          "rating": 9}]}, headers=headers)
    assert bad.status_code == 422
    missing = client.post(url, json={"rubric_id": rubric["id"], "ratings": ratings[:1]}, headers=headers)
    assert missing.status_code == 422 and f"ratings.{rubric['criteria'][1]['id']}" in missing.json["error"]["fields"]


def test_transcript_upload_and_tracker_hits(client, api_token, mallory, alice, reviewed):
    rep = api_token(alice)
    client.post("/api/v1/trackers", json={"name": "Price", "phrases": ["precio"], "said_by": "prospect"},
                headers=api_token(mallory))
    url = f"/api/v1/recordings/{reviewed.id}/transcript"
    assert client.get(url, headers=rep).status_code == 404
    put = client.put(url, json={"format": "json", "content": SEGMENTS_JSON}, headers=rep)
    assert put.status_code == 201, put.json
    assert [line["speaker"] for line in put.json["lines"]] == ["rep", "prospect", "rep", "prospect"]
    hits = client.get(f"/api/v1/recordings/{reviewed.id}/tracker-hits", headers=rep).json["items"]
    assert [(h["name"], h["count"], [m["at_seconds"] for m in h["marks"]]) for h in hits] == [("Price", 1, [5.0])]
    malformed = client.put(url, json={"content": (FIXTURES / "malformed.srt").read_text()}, headers=rep)
    assert malformed.status_code == 422
    assert "line 6" in malformed.json["error"]["fields"]["transcript"]
    vtt = client.put(url, json={"content": (FIXTURES / "zoom_spanish.vtt").read_text()}, headers=rep)
    assert vtt.status_code == 201 and vtt.json["format"] == "vtt"
    # neither "Ana García" nor "Carlos Pérez" is the rep (Alice Rep): nobody is guessed
    assert {line["speaker"] for line in vtt.json["lines"]} == {None}


def test_library_api(client, api_token, mallory, alice, bob, reviewed):
    manager = api_token(mallory)
    folder = client.post("/api/v1/library/folders", json={"name": "Objections"}, headers=manager)
    assert folder.status_code == 201
    url = f"/api/v1/recordings/{reviewed.id}/clips"
    clip = client.post(url, json={"folder_id": folder.json["id"], "start_seconds": 5, "end_seconds": 15, "note": "n"},
                       headers=manager)
    assert clip.status_code == 201 and clip.json["audio_url"] == f"/library/clips/{clip.json['id']}/audio"
    backwards = client.post(url, json={"folder_id": folder.json["id"], "start_seconds": 15, "end_seconds": 5},
                            headers=manager)
    assert backwards.status_code == 422 and "end_seconds" in backwards.json["error"]["fields"]
    beyond = client.post(url, json={"folder_id": folder.json["id"], "start_seconds": 50, "end_seconds": 70},
                         headers=manager)
    assert beyond.status_code == 422
    # bob, a rep of the team who may not hear alice's call, reads the library and its clip
    listed = client.get("/api/v1/library/folders", headers=api_token(bob)).json["items"]
    assert [c["id"] for c in listed[0]["clips"]] == [clip.json["id"]]
    assert client.post("/api/v1/library/folders", json={"name": "x"}, headers=api_token(bob)).status_code == 403


def test_queue_api_filters(client, api_token, mallory, alice, bob, make_recording):
    slow = make_recording(alice, duration=600, talk=0.8)
    quick = make_recording(bob, duration=60, talk=0.4, days_ago=2)
    headers = api_token(mallory)
    everything = client.get("/api/v1/reviews/queue", headers=headers).json
    assert [i["recording_id"] for i in everything["items"]] == [slow.id, quick.id] and everything["total"] == 2
    assert everything["items"][0]["url"] == f"/recordings/{slow.id}"
    only = client.get(f"/api/v1/reviews/queue?talk_max=50&rep_id={bob.id}", headers=headers).json
    assert [i["recording_id"] for i in only["items"]] == [quick.id]
    bad = client.get("/api/v1/reviews/queue?talk_min=150", headers=headers)
    assert bad.status_code == 422


def test_openapi_lists_the_review_paths(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/recordings/{recording_id}/comments", "/recordings/{recording_id}/scorecards",
                 "/recordings/{recording_id}/transcript", "/recordings/{recording_id}/tracker-hits",
                 "/trackers", "/rubrics", "/library/folders", "/reviews/queue"):
        assert any(p.endswith(path) for p in paths), path


def test_mark_reviewed_and_back_in_the_queue(client, api_token, mallory, reviewed):
    headers = api_token(mallory)
    url = f"/api/v1/recordings/{reviewed.id}/review"
    assert client.put(url, json={"reviewed": True}, headers=headers).json["reviewed_at"]
    assert client.get("/api/v1/reviews/queue", headers=headers).json["total"] == 0
    assert client.put(url, json={"reviewed": False}, headers=headers).json["reviewed_at"] is None
    assert client.get("/api/v1/reviews/queue", headers=headers).json["total"] == 1
    assert client.put(url, json={}, headers=headers).status_code == 422
