"""The documents API: upload (multipart), read once processed, share links per contact with the
viewer's absolute URL, revoke (the viewer answers 410), analytics; the same for videos; errors
name their field; the paths are in the OpenAPI document."""
from __future__ import annotations

import io

from crm.documents import services
from crm.documents.samples import sample_pdf
from crm.documents.worker import process_pending
from crm.extensions import db
from tests.conftest import NOW
from tests.crm.api.conftest import error_of
from tests.crm.documents.conftest import PAGES


def upload(client, path, data, name="Proposal", filename="proposal.pdf", **extra):
    return client.post(path, data={"name": name, "file": (io.BytesIO(data), filename), **extra},
                       content_type="multipart/form-data")


def test_document_upload_process_share_read_and_revoke(client, api, rep, prospect, storage):
    rita = api(rep)
    created = upload(rita, "/documents", sample_pdf(PAGES))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "queued"
    item_id = created.get_json()["id"]
    assert rita.get(f"/documents/{item_id}").get_json()["page_count"] is None  # not processed yet
    process_pending(NOW)
    body = rita.get(f"/documents/{item_id}").get_json()
    assert (body["id"], body["name"], body["status"], body["page_count"]) == (item_id, "Proposal", "ready", 5)
    shared = rita.post(f"/documents/{item_id}/links", json={"contact_id": prospect.id})
    assert shared.status_code == 201
    link = shared.get_json()
    assert link["url"].startswith("http://crm.example.com/d/")
    token = link["url"].rsplit("/", 1)[1]
    assert client.get(f"/d/{token}").status_code == 200
    client.post(f"/d/{token}/beacon", json={"view": "api-view-key-000000001", "page": 3, "seconds": 11},
                headers={"User-Agent": "Mozilla/5.0 Chrome/126.0"})
    stats = rita.get(f"/documents/{item_id}/analytics").get_json()
    assert (stats["views"], stats["unique_viewers"], stats["accounts_reached"]) == (1, 1, 1)
    assert stats["seconds_per_page"][2] == {"page": 3, "seconds": 11.0}
    assert stats["forwards"] == []
    assert rita.delete(f"/document-links/{link['id']}").status_code == 204
    assert rita.delete(f"/document-links/{link['id']}").status_code == 204  # again: harmless
    assert client.get(f"/d/{token}").status_code == 410
    assert rita.get(f"/documents/{item_id}/links").get_json()["items"][0]["revoked_at"] is not None
    assert rita.get("/documents?q=pricing").get_json()["total"] == 1


def test_api_errors_name_the_field(api, rep, prospect, storage, ready_document):
    rita = api(rep)
    refused = upload(rita, "/documents", b"plain text", filename="x.pdf")
    assert refused.status_code == 422 and "file" in error_of(refused)["fields"]
    assert upload(rita, "/documents", sample_pdf(["a"]), name="").status_code == 422
    missing = rita.post(f"/documents/{ready_document.id}/links", json={"contact_id": 999999})
    assert missing.status_code == 422 and "contact_id" in error_of(missing)["fields"]
    past = rita.post(f"/documents/{ready_document.id}/links",
                     json={"contact_id": prospect.id, "expires_at": "2000-01-01T00:00:00Z"})
    assert past.status_code == 422 and "expires_at" in error_of(past)["fields"]
    assert rita.get("/documents/999999").status_code == 404
    assert rita.get(f"/videos/{ready_document.id}").status_code == 404  # a document is not a video
    assert rita.delete("/document-links/999999").status_code == 404


def test_another_teams_document_is_not_found(api, make_user, ready_document, prospect):
    stranger = api(make_user("rep"))
    assert stranger.get(f"/documents/{ready_document.id}").status_code == 404
    assert stranger.post(f"/documents/{ready_document.id}/links", json={"contact_id": prospect.id}).status_code == 404
    assert stranger.get(f"/documents/{ready_document.id}/analytics").status_code == 404


def test_video_upload_share_and_watch_depth(client, api, rep, prospect, storage, video_bytes):
    rita = api(rep)
    created = upload(rita, "/videos", video_bytes["webm"], name="Intro", filename="intro.webm")
    assert created.status_code == 201, created.get_json()
    process_pending(NOW)
    video_id = created.get_json()["id"]
    assert rita.get(f"/videos/{video_id}").get_json()["status"] == "ready"
    link = rita.post(f"/videos/{video_id}/links", json={"contact_id": prospect.id}).get_json()
    token = link["url"].rsplit("/", 1)[1]
    page = client.get(f"/d/{token}")
    assert page.status_code == 200 and 'id="watch-video"' in page.get_data(as_text=True)
    with client.get(f"/d/{token}/media", headers={"Range": "bytes=0-99"}) as media:
        assert media.status_code == 206 and len(media.data) == 100
    for percent in (0, 25, 50):
        client.post(f"/d/{token}/beacon", json={"view": "watch-view-key-00001", "percent": percent, "seconds": 0.5},
                    headers={"User-Agent": "Mozilla/5.0 Chrome/126.0"})
    stats = rita.get(f"/videos/{video_id}/analytics").get_json()
    assert stats["watch_depth"] == [{"percent": 25, "viewers": 1}, {"percent": 50, "viewers": 1},
                                    {"percent": 75, "viewers": 0}, {"percent": 100, "viewers": 0}]
    assert rita.delete(f"/video-links/{link['id']}").status_code == 204
    by_url = rita.post("/videos", data={"name": "Hosted", "url": "https://videos.example.com/a.mp4"},
                       content_type="multipart/form-data")
    assert by_url.status_code == 201


def test_the_paths_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/documents", "/documents/{item_id}", "/documents/{item_id}/links", "/document-links/{link_id}",
                 "/documents/{item_id}/analytics", "/videos", "/videos/{item_id}", "/videos/{item_id}/links",
                 "/video-links/{link_id}", "/videos/{item_id}/analytics"):
        assert any(p.endswith(path) for p in paths), path
    video_form = next(v for p, v in paths.items() if p.endswith("/videos"))["post"]["requestBody"]
    schema = video_form["content"]["multipart/form-data"]["schema"]
    assert "file" in schema["properties"] and "file" not in schema["required"]


def test_rename_and_move_to_a_folder(api, rep, make_user, ready_document):
    folder = services.create_folder(rep, {"name": "Proposals"}, NOW)
    foreign = services.create_folder(make_user("rep"), {"name": "Theirs"}, NOW)
    db.session.commit()
    rita = api(rep)
    moved = rita.patch(f"/documents/{ready_document.id}", json={"name": "Final proposal", "folder_id": folder.id})
    assert moved.status_code == 200 and (moved.get_json()["name"], moved.get_json()["folder_id"]) == (
        "Final proposal", folder.id)
    assert rita.get(f"/documents?folder_id={folder.id}").get_json()["total"] == 1
    refused = rita.patch(f"/documents/{ready_document.id}", json={"folder_id": foreign.id})
    assert refused.status_code == 422 and "folder_id" in error_of(refused)["fields"]
    assert rita.patch(f"/documents/{ready_document.id}", json={"folder_id": None}).get_json()["folder_id"] is None
    assert rita.patch(f"/documents/{ready_document.id}", json={"name": ""}).status_code == 422
    assert rita.patch(f"/videos/{ready_document.id}", json={"name": "x"}).status_code == 404
