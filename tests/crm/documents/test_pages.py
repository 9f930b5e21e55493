"""The rep's pages: the library (empty state, upload refused with the reason, folders), the
content page (share by email, revoke), the contact panel; planners are kept out."""
from __future__ import annotations

import io

from sqlalchemy import select

from crm.documents import services
from crm.documents.models import ContentFolder, ContentLink
from crm.documents.samples import sample_pdf
from crm.documents.worker import process_pending
from crm.extensions import db
from tests.conftest import NOW, csrf_from
from tests.crm.documents.conftest import Upload


def test_the_library_upload_and_folders(client, login, rep, storage):
    login(client, rep)
    page = client.get("/content")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nothing here yet" in html
    token = csrf_from(html)
    refused = client.post("/content/upload?kind=document", data={
        "csrf_token": token, "name": "Notes", "file": (io.BytesIO(b"just text"), "notes.pdf")},
        content_type="multipart/form-data")
    assert refused.status_code == 422 and "not a PDF document" in refused.get_data(as_text=True)
    folder = client.post("/content/folders", data={"csrf_token": token, "name": "Proposals"})
    assert folder.status_code == 302
    folder_id = db.session.scalar(select(ContentFolder.id))
    done = client.post("/content/upload?kind=document", data={
        "csrf_token": token, "name": "Deck", "folder_id": str(folder_id),
        "file": (io.BytesIO(sample_pdf(["a", "b"])), "deck.pdf")}, content_type="multipart/form-data")
    assert done.status_code == 302 and "/content/" in done.headers["Location"]
    assert client.post("/content/upload?kind=document", data={"name": "x"}).status_code == 400  # no CSRF token


def test_share_by_email_revoke_and_the_contact_panel(client, login, rep, prospect, ready_document):
    login(client, rep)
    html = client.get(f"/content/{ready_document.id}").get_data(as_text=True)
    assert "Not shared yet" in html and "Nobody has opened it yet" in html
    token = csrf_from(html)
    shared = client.post(f"/content/{ready_document.id}/links", data={"csrf_token": token, "contact": prospect.email})
    assert shared.status_code == 302
    link = db.session.scalar(select(ContentLink))
    assert link.contact_id == prospect.id
    html = client.get(f"/content/{ready_document.id}").get_data(as_text=True)
    assert "http://crm.example.com/d/" in html and "not opened yet" in html
    unknown = client.post(f"/content/{ready_document.id}/links", data={"csrf_token": token,
                                                                         "contact": "nobody@nowhere.example"},
                          follow_redirects=True)
    assert "no such contact" in unknown.get_data(as_text=True)
    assert client.post(f"/content/links/{link.id}/revoke", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ContentLink, link.id).revoked_at is not None
    contact_page = client.get(f"/contacts/{prospect.id}").get_data(as_text=True)
    assert 'id="documents-panel"' in contact_page and "Northwind proposal" in contact_page


def test_planners_are_kept_out(client, login, make_user, ready_document):
    login(client, make_user("planner"))
    assert client.get("/content").status_code == 403
    assert client.get(f"/content/{ready_document.id}").status_code == 403


def test_a_video_page_offers_it_for_emails(client, login, rep, storage, video_bytes):
    item = services.create_video(rep, {"name": "Intro"}, Upload(video_bytes["mp4"], "intro.mp4"), None, NOW)
    db.session.commit()
    process_pending(NOW)
    login(client, rep)
    html = client.get(f"/content/{item.id}").get_data(as_text=True)
    assert "Use in my emails ({{ video }})" in html and 'id="watch-depth"' in html
    token = csrf_from(html)
    assert client.post(f"/content/{item.id}/email-video", data={"csrf_token": token}).status_code == 302
    assert "Your email templates insert this video" in client.get(f"/content/{item.id}").get_data(as_text=True)
