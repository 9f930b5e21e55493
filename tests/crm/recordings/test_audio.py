"""Serving the audio: byte ranges (first bytes, middle, suffix, open-ended, 416 beyond the end)
by API and by the page's session; who may listen (the rep who made the call, their manager,
admins; not another rep, not a planner, not another team's manager); the metadata API."""
from __future__ import annotations

import io

import pytest

from crm.extensions import db
from crm.recordings import services
from crm.recordings.models import Recording
from tests.crm.api.conftest import error_of


@pytest.fixture
def uploaded(api, alice, make_call, storage, call_audio):
    """Alice's call with its WAV recording: (recording id, the file's bytes)."""
    data = call_audio("wav")
    response = api(alice).post("/recordings", data={"call_id": str(make_call(alice).id),
                                                    "file": (io.BytesIO(data), "call.wav", "audio/wav")},
                               content_type="multipart/form-data")
    assert response.status_code == 201
    return response.get_json()["id"], data


def fetch(client, path, range_header=None, **kwargs):
    headers = {**kwargs.pop("headers", {}), **({"Range": range_header} if range_header else {})}
    with client.get(path, headers=headers, **kwargs) as response:
        return response.status_code, dict(response.headers), response.data


@pytest.mark.parametrize("range_header, status, first, last", [
    (None, 200, 0, None),
    ("bytes=0-99", 206, 0, 99),            # the first bytes
    ("bytes=1000-4095", 206, 1000, 4095),  # the middle
    ("bytes=-500", 206, -500, None),       # the last 500 (suffix)
    ("bytes=2000-", 206, 2000, None),      # from an offset to the end
])
def test_ranges_by_api(api, alice, uploaded, range_header, status, first, last):
    recording_id, data = uploaded
    code, headers, body = fetch(api(alice), f"/recordings/{recording_id}/audio", range_header)
    assert code == status
    expected = data[first:None if last is None else last + 1]
    assert body == expected
    assert headers["Accept-Ranges"] == "bytes" and headers["Content-Type"] == "audio/wav"
    assert headers["Content-Length"] == str(len(expected))
    if status == 206:
        start = first if first >= 0 else len(data) + first
        assert headers["Content-Range"] == f"bytes {start}-{start + len(expected) - 1}/{len(data)}"
    assert "private" in headers["Cache-Control"]


@pytest.mark.parametrize("range_header", [lambda size: f"bytes={size}-", lambda size: f"bytes={size + 10}-{size + 20}"])
def test_a_range_beyond_the_end_is_416(api, alice, uploaded, range_header):
    recording_id, data = uploaded
    code, headers, _body = fetch(api(alice), f"/recordings/{recording_id}/audio", range_header(len(data)))
    assert code == 416 and headers["Content-Range"] == f"bytes */{len(data)}"


def test_the_page_serves_the_audio_with_ranges_to_a_session(client, login, alice, charlie, uploaded, app):
    recording_id, data = uploaded
    login(client, alice)
    code, headers, body = fetch(client, f"/recordings/{recording_id}/audio", "bytes=-100")
    assert code == 206 and body == data[-100:] and headers["Accept-Ranges"] == "bytes"
    outsider = app.test_client()
    login(outsider, charlie)
    assert fetch(outsider, f"/recordings/{recording_id}/audio")[0] == 404
    anonymous = app.test_client()
    assert fetch(anonymous, f"/recordings/{recording_id}/audio")[0] in (302, 401)


def test_who_may_listen(api, alice, bob, charlie, mallory, make_user, pat, admin, uploaded):
    """Alice's call: Alice, Mallory (her manager) and admins; not Bob (same team), Charlie
    (another team), another manager, nor Pat (a planner)."""
    recording_id, data = uploaded
    other_manager = make_user("manager")
    allowed = {alice: True, mallory: True, admin: True, bob: False, charlie: False, other_manager: False, pat: False}
    for user, may in allowed.items():
        client = api(user)
        code = fetch(client, f"/recordings/{recording_id}/audio")[0]
        meta = client.get(f"/recordings/{recording_id}")
        listed = client.get("/recordings")
        if may:
            assert code == 200 and meta.status_code == 200, user.email
            assert [r["id"] for r in listed.get_json()["items"]] == [recording_id]
        else:
            assert code in (403, 404) and meta.status_code in (403, 404), user.email
            assert listed.status_code == 403 if user.role == "planner" else listed.get_json()["items"] == []
    assert api(pat).get(f"/recordings/{recording_id}").status_code == 403
    recording = db.session.get(Recording, recording_id)
    assert [services.can_listen(u, recording) for u in allowed] == list(allowed.values())
    assert services.recording_for_call(bob, recording.activity_id) is None
    assert services.recording_for_call(mallory, recording.activity_id).id == recording_id


def test_visible_recordings_per_role(alice, bob, charlie, mallory, admin, pat, make_call, storage):
    calls = {rep: make_call(rep) for rep in (alice, bob, charlie)}
    for rep, call in calls.items():
        db.session.add(Recording(activity_id=call.id, user_id=rep.id, status="linked", source="url",
                                 source_url="https://pbx.example.com/x", channels="rep-left"))
    db.session.commit()

    def visible(user):
        return sorted(r.user_id for r in db.session.scalars(services.visible_recordings(user)))

    assert visible(alice) == [alice.id]
    assert visible(mallory) == sorted([alice.id, bob.id])
    assert visible(admin) == sorted([alice.id, bob.id, charlie.id])
    assert visible(pat) == []


def test_metadata_and_analysis_by_api(api, alice, uploaded):
    recording_id, data = uploaded
    body = api(alice).get(f"/recordings/{recording_id}").get_json()
    assert body["status"] == "pending" and body["analysis"] is None and body["progress"] == 0
    assert body["byte_size"] == len(data) and body["channels"] == "rep-left" and body["channel_count"] == 2
    assert body["audio_url"] == f"/api/v1/recordings/{recording_id}/audio"
    listed = api(alice).get("/recordings?status=ready").get_json()
    assert listed["items"] == [] and listed["total"] == 0
    assert error_of(api(alice).get("/recordings?status=done"))["fields"]


def test_the_openapi_document_describes_the_upload_and_the_audio(api, alice):
    document = api(alice).get("/openapi.json").get_json()
    upload = document["paths"]["/api/v1/recordings"]["post"]
    schema = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"] == {"type": "string", "format": "binary"}
    assert set(schema["required"]) == {"call_id", "file"}
    assert {"201", "413", "422"} <= set(upload["responses"])
    audio = document["paths"]["/api/v1/recordings/{recording_id}/audio"]["get"]
    assert {"200", "206", "416"} <= set(audio["responses"])
    assert "audio/*" in audio["responses"]["206"]["content"]
