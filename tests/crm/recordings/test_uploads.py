"""Uploading recordings: by API (multipart) and by the page (CSRF); every format accepted by
content; every bad file refused with a clear 4xx and nothing left behind; the old calls routes."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.recordings.models import Recording
from tests.conftest import csrf_from
from tests.crm.api.conftest import error_of


def post_file(api_client, call_id, data: bytes, name: str = "call.wav", content_type: str = "audio/wav", **fields):
    return api_client.post("/recordings", data={"call_id": str(call_id), **fields,
                                                "file": (io.BytesIO(data), name, content_type)},
                           content_type="multipart/form-data")


def recording_count() -> int:
    return db.session.scalar(select(func.count(Recording.id))) or 0


@pytest.mark.parametrize("extension, content_type, detected", [
    ("wav", "audio/wav", "wav"), ("flac", "audio/flac", "flac"), ("ogg", "audio/ogg", "ogg"),
    ("opus", "audio/ogg", "ogg"), ("mp3", "audio/mpeg", "mp3"),
])
def test_each_format_is_accepted_by_content(api, alice, make_call, storage, stored_files, call_audio,
                                            extension, content_type, detected):
    call = make_call(alice)
    data = call_audio(extension)
    response = post_file(api(alice), call.id, data, f"call.{extension}", content_type)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "status"} and body["status"] == "pending"
    recording = db.session.get(Recording, body["id"])
    assert (recording.format, recording.channels, recording.channel_count) == (detected, "rep-left", 2)
    assert recording.user_id == alice.id and recording.byte_size == len(data)
    assert stored_files() == [recording.storage_key]  # renamed into place after the commit
    assert (storage / recording.storage_key).read_bytes() == data


def test_content_decides_not_the_name(api, alice, make_call, storage, call_audio):
    """A WAV sent as application/octet-stream named .bin is a WAV; the layout can be given."""
    response = post_file(api(alice), make_call(alice).id, call_audio("wav"), "upload.bin", "application/octet-stream",
                         channels="rep-right")
    assert response.status_code == 201
    recording = db.session.get(Recording, response.get_json()["id"])
    assert recording.format == "wav" and recording.content_type == "audio/wav" and recording.channels == "rep-right"


def test_a_mono_file_is_mono_whatever_the_layout_says(api, alice, make_call, storage, call_audio):
    response = post_file(api(alice), make_call(alice).id, call_audio("wav", mono=True), channels="rep-left")
    assert response.status_code == 201
    assert db.session.get(Recording, response.get_json()["id"]).channels == "mono"


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


BAD_UPLOADS = {
    "zero bytes": (lambda audio: b"", "call.wav", "audio/wav", 422, "empty"),
    "text named .wav": (lambda audio: b"hello, this is not audio\n" * 40, "call.wav", "audio/wav", 422,
                        "not audio we can read"),
    "html named .mp3": (lambda audio: b"<html><body>login</body></html>" * 10, "call.mp3", "audio/mpeg", 422,
                        "not audio we can read"),
    "truncated wav": (lambda audio: _truncated(audio("wav")), "call.wav", "audio/wav", 422, "cut short"),
    "truncated flac": (lambda audio: _truncated(audio("flac")), "call.flac", "audio/flac", 422, "not audio"),
    "truncated ogg": (lambda audio: _truncated(audio("ogg")), "call.ogg", "audio/ogg", 422, "cut short"),
    "truncated opus": (lambda audio: _truncated(audio("opus")), "call.opus", "audio/ogg", 422, "cut short"),
    "truncated mp3": (lambda audio: _truncated(audio("mp3")), "call.mp3", "audio/mpeg", 422, "cut short"),
    "flac named .mp3": (lambda audio: audio("flac"), "call.mp3", "audio/mpeg", 422, "FLAC audio but its name"),
    "wav sent as audio/mpeg": (lambda audio: audio("wav"), "call", "audio/mpeg", 422, "WAV audio but it was sent"),
    "only a header": (lambda audio: audio("wav")[:44], "call.wav", "audio/wav", 422, "no audio"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_uploads_get_a_clear_4xx_and_leave_nothing(api, alice, make_call, storage, stored_files, call_audio,
                                                       case):
    make_data, name, content_type, status, reason = BAD_UPLOADS[case]
    response = post_file(api(alice), make_call(alice).id, make_data(call_audio), name, content_type)
    assert response.status_code == status, (case, response.get_json())
    error = error_of(response)
    assert reason in error["fields"]["file"], (case, error)
    assert recording_count() == 0 and stored_files() == []


def test_too_large_is_413_with_the_configured_limit(app, api, alice, make_call, storage, stored_files, call_audio):
    data = call_audio("wav")
    app.config["RECORDING_MAX_BYTES"] = len(data) - 1
    response = post_file(api(alice), make_call(alice).id, data)
    assert response.status_code == 413 and "at most" in error_of(response)["fields"]["file"]
    app.config["RECORDING_MAX_BYTES"] = 100_000  # far smaller: the body itself is refused before it is read
    response = post_file(api(alice), make_call(alice).id, data)
    assert response.status_code == 413 and error_of(response)["code"] == "payload_too_large"
    assert recording_count() == 0 and stored_files() == []


def test_above_the_app_wide_form_limit_but_under_the_recording_limit(app, api, alice, make_call, storage, call_audio):
    """MAX_CONTENT_LENGTH (every other form) does not cap recordings: RECORDING_MAX_BYTES does."""
    data = call_audio("wav")
    saved = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    try:
        assert post_file(api(alice), make_call(alice).id, data).status_code == 201
    finally:
        app.config["MAX_CONTENT_LENGTH"] = saved


def test_form_fields_and_the_call_are_checked(api, alice, bob, charlie, make_call, make_contact, storage,
                                              stored_files, call_audio):
    data, client = call_audio("wav"), api(alice)
    wrong_layout = post_file(client, make_call(alice).id, data, channels="left")
    assert wrong_layout.status_code == 422 and list(error_of(wrong_layout)["fields"]) == ["channels"]
    response = client.post("/recordings", data={"call_id": str(make_call(alice).id)},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "required" in error_of(response)["fields"]["file"]
    assert post_file(client, 999999, data).status_code == 404
    assert post_file(client, "abc", data).status_code == 422
    assert post_file(client, make_call(charlie).id, data).status_code == 403  # not her call, not her team
    assert post_file(client, make_call(bob).id, data).status_code == 403  # a teammate's call: his or the manager's
    assert client.post("/recordings", json={"call_id": 1}).status_code == 400  # not multipart
    assert recording_count() == 0 and stored_files() == []


def test_one_recording_per_call(api, alice, mallory, make_call, storage, stored_files, call_audio):
    call = make_call(alice)
    first = post_file(api(alice), call.id, call_audio("wav"))
    assert first.status_code == 201
    second = post_file(api(mallory), call.id, call_audio("flac"), "call.flac", "audio/flac")  # her manager may upload
    assert second.status_code == 409
    assert recording_count() == 1 and len(stored_files()) == 1


def test_a_linked_url_is_replaced_by_an_upload(api, alice, make_call, storage, call_audio):
    """POST /calls/<id>/recording (kept for phone systems) stores a linked recording."""
    call, client = make_call(alice), api(alice)
    linked = client.post(f"/calls/{call.id}/recording", json={"url": "https://pbx.example.com/rec/1.mp3"})
    assert linked.status_code == 201, linked.get_json()
    assert linked.get_json()["source"] == "url" and linked.get_json()["url"] == "https://pbx.example.com/rec/1.mp3"
    shown = client.get(f"/recordings/{linked.get_json()['id']}").get_json()
    assert shown["status"] == "linked" and shown["audio_url"] is None and shown["analysis"] is None
    for bad in ("http://pbx.example.com/1.mp3", "https://user:pw@pbx.example.com/1", "javascript:alert(1)"):
        response = client.post(f"/calls/{call.id}/recording", json={"url": bad})
        assert response.status_code == 422 and "url" in error_of(response)["fields"]
    uploaded = post_file(client, call.id, call_audio("wav"))
    assert uploaded.status_code == 201 and uploaded.get_json()["id"] == linked.get_json()["id"]
    assert recording_count() == 1
    with client.get(f"/recordings/{uploaded.get_json()['id']}/audio") as audio:
        assert audio.status_code == 200 and audio.data == call_audio("wav")


def test_a_failed_commit_removes_the_part_file(app, alice, make_call, storage, stored_files, call_audio):
    from crm.recordings import services
    from crm.timeutil import utcnow

    class Upload:
        filename, mimetype = "call.wav", "audio/wav"

        def __init__(self, data):
            self.stream = io.BytesIO(data)

    call = make_call(alice)
    recording = services.upload_recording(alice, call.id, Upload(call_audio("wav")), now=utcnow())
    assert stored_files() == [f".{recording.storage_key}.part"]
    db.session.rollback()
    assert stored_files() == []


# --- the page ------------------------------------------------------------------------------

def test_page_upload_with_csrf(client, login, alice, make_call, storage, stored_files, call_audio):
    call = make_call(alice)
    login(client, alice)
    page = client.get(f"/recordings/call/{call.id}")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    no_token = client.post(f"/recordings/call/{call.id}", data={"file": (io.BytesIO(call_audio("wav")), "c.wav")},
                           content_type="multipart/form-data")
    assert no_token.status_code == 400 and stored_files() == []
    bad = client.post(f"/recordings/call/{call.id}", data={"csrf_token": token, "file": (io.BytesIO(b"text"), "c.wav")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "not audio we can read" in bad.get_data(as_text=True)
    assert stored_files() == []
    done = client.post(f"/recordings/call/{call.id}", data={"csrf_token": token, "channels": "rep-left",
                                                            "file": (io.BytesIO(call_audio("wav")), "c.wav")},
                       content_type="multipart/form-data")
    assert done.status_code == 302
    recording = db.session.scalar(select(Recording))
    assert done.headers["Location"].endswith(f"/recordings/{recording.id}/status")
    status_page = client.get(f"/recordings/{recording.id}/status").get_data(as_text=True)
    assert 'http-equiv="refresh"' in status_page and "Waiting for the worker" in status_page
    assert f'/recordings/{recording.id}/audio' in status_page
    # the contact's Calls panel links the badge to the recording
    contact_page = client.get(f"/contacts/{call.contact_id}").get_data(as_text=True)
    assert f'href="/recordings/{recording.id}">recording</a>' in contact_page
    # the old address of the attach page redirects here
    assert client.get(f"/calls/recordings/{call.id}").headers["Location"].endswith(f"/recordings/call/{call.id}")


def test_page_refuses_others_and_planners(app, login, alice, charlie, pat, make_call, storage):
    call = make_call(alice)
    for outsider in (charlie, pat):
        client = app.test_client()
        login(client, outsider)
        assert client.get(f"/recordings/call/{call.id}").status_code == 403
