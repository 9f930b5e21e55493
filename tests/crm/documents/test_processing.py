"""Uploads checked by content, and what the worker makes of them: page images and text for a
multi-page PDF made here, a poster frame for MP4 and WebM videos made with ffmpeg, an email
thumbnail with a play button; failures recorded, the CLI."""
from __future__ import annotations

import pytest
from PIL import Image
from sqlalchemy import select

from crm.documents import services
from crm.documents.models import ContentItem, ContentPage
from crm.documents.samples import sample_pdf
from crm.documents.worker import process_pending
from crm.errors import ValidationFailed
from crm.extensions import db
from tests.conftest import NOW
from tests.crm.documents.conftest import PAGES, Upload


def test_a_multi_page_pdf_is_rendered_to_one_image_per_page_with_its_text(ready_document, storage):
    assert ready_document.status == "ready" and ready_document.page_count == 5
    pages = db.session.scalars(select(ContentPage).where(ContentPage.item_id == ready_document.id)
                               .order_by(ContentPage.number)).all()
    assert [p.number for p in pages] == [1, 2, 3, 4, 5]
    for page, text in zip(pages, PAGES):
        image_path = storage / page.image_key
        with Image.open(image_path) as image:
            assert image.format == "PNG" and image.size == (page.width, page.height)
            # US Letter rendered 1200 px wide keeps its 8.5 x 11 shape
            assert page.width == 1200 and abs(page.height / page.width - 11 / 8.5) < 0.01
            assert image.convert("L").getextrema()[0] < 100  # the text drew dark pixels
        assert page.text.strip() == text
    assert sorted(p.name for p in (storage / str(ready_document.id) / "pages").iterdir()) == [
        f"{n}.png" for n in range(1, 6)]


def test_search_finds_a_document_by_the_text_of_a_page(ready_document, rep):
    assert [i.id for i in services.list_items(rep, q="40 seats").items] == [ready_document.id]
    assert services.list_items(rep, q="not in there").items == []


@pytest.mark.parametrize("data, name, reason", [
    (b"", "empty.pdf", "empty"),
    (b"hello, I am text", "notes.pdf", "not a PDF"),
    (b"%PDF-1.4\n garbage without objects", "broken.pdf", "cannot be opened"),
])
def test_a_file_that_is_not_a_readable_pdf_is_refused_and_nothing_is_kept(storage, rep, data, name, reason):
    with pytest.raises(ValidationFailed) as refused:
        services.create_document(rep, {"name": "X"}, Upload(data, name), NOW)
    assert reason in refused.value.fields["file"]
    db.session.rollback()
    assert list(storage.iterdir()) == [] if storage.exists() else True


def test_a_document_over_the_limit_is_refused_with_413(app, storage, rep):
    app.config["DOCUMENT_MAX_BYTES"] = 1000
    with pytest.raises(services.ServiceError) as refused:
        services.create_document(rep, {"name": "Big"}, Upload(sample_pdf(["x"] * 30), "big.pdf"), NOW)
    assert refused.value.status == 413


def test_the_upload_is_renamed_only_when_its_row_commits(storage, rep):
    item = services.create_document(rep, {"name": "Kept"}, Upload(sample_pdf(["a"]), "a.pdf"), NOW)
    key = item.storage_key
    assert (storage / f".{key}.part").exists() and not (storage / key).exists()
    db.session.commit()
    assert (storage / key).exists() and not (storage / f".{key}.part").exists()
    services.create_document(rep, {"name": "Dropped"}, Upload(sample_pdf(["b"]), "b.pdf"), NOW)
    db.session.rollback()
    assert sorted(p.name for p in storage.iterdir()) == [key]


@pytest.mark.parametrize("ext", ["mp4", "webm"])
def test_a_video_gets_a_poster_frame_and_an_email_thumbnail_with_a_play_button(storage, rep, video_bytes, ext):
    item = services.create_video(rep, {"name": "Intro"}, Upload(video_bytes[ext], f"intro.{ext}"), None, NOW)
    db.session.commit()
    assert item.duration_seconds == pytest.approx(2.0, abs=0.2)
    assert process_pending(NOW) == {"ready": 1, "failed": 0}
    item = db.session.get(ContentItem, item.id)
    with Image.open(storage / item.poster_key) as poster:
        assert poster.format == "JPEG" and poster.size == (160, 120)
    with Image.open(storage / item.email_image_key) as email:
        assert email.size == (480, 360)
        centre = email.convert("RGB").getpixel((240, 180))
        assert min(centre) > 200  # the white play triangle in the middle


def test_a_video_by_url_with_an_uploaded_thumbnail(storage, rep):
    png = Image.new("RGB", (320, 180), (200, 30, 30))
    buffer = Upload(b"", "thumb.png")
    png.save(buffer.stream, format="PNG")
    buffer.stream.seek(0)
    item = services.create_video(rep, {"name": "Recap", "url": "https://videos.example.com/recap.mp4"}, None, buffer,
                                 NOW)
    db.session.commit()
    assert process_pending(NOW)["ready"] == 1
    item = db.session.get(ContentItem, item.id)
    assert item.source == "url" and item.poster_key is None and item.thumbnail_key
    with Image.open(storage / item.email_image_key) as email:
        assert email.size == (480, 270)
        assert email.convert("RGB").getpixel((10, 10))[0] > 150  # the red thumbnail under the button


@pytest.mark.parametrize("data, fields, expected", [
    (b"not a video at all", {"name": "X"}, "MP4 or WebM"),
    (None, {"name": "X"}, "one of them"),
    (None, {"name": "X", "url": "http://videos.example.com/a.mp4"}, "https"),
    (None, {"name": "", "url": "https://videos.example.com/a.mp4"}, "required"),
])
def test_bad_videos_are_refused_with_the_field_named(storage, rep, data, fields, expected):
    upload = Upload(data, "clip.mp4") if data is not None else None
    with pytest.raises(ValidationFailed) as refused:
        services.create_video(rep, fields, upload, None, NOW)
    assert expected in " ".join(refused.value.fields.values())


def test_a_file_that_stops_being_readable_fails_with_the_reason(storage, rep):
    item = services.create_document(rep, {"name": "Gone"}, Upload(sample_pdf(["a"]), "a.pdf"), NOW)
    db.session.commit()
    (storage / item.storage_key).unlink()
    assert process_pending(NOW) == {"ready": 0, "failed": 1}
    item = db.session.get(ContentItem, item.id)
    assert item.status == "failed" and "missing" in item.error
    services.retry_processing(rep, item.id)
    assert item.status == "queued"


def test_the_cli_processes_pending_uploads_once(app, storage, rep):
    services.create_document(rep, {"name": "Via CLI"}, Upload(sample_pdf(["a", "b"]), "a.pdf"), NOW)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["crm", "documents", "process-pending"])
    assert result.exit_code == 0, result.output
    assert "1 processed, 0 failed" in result.output
    assert db.session.scalar(select(ContentItem.page_count)) == 2


def test_the_library_is_the_teams(storage, make_user, rep):
    boss = make_user("manager")
    teammate, stranger = make_user("rep", manager_id=boss.id), make_user("rep")
    rep.manager_id = boss.id
    db.session.commit()
    item = services.create_document(teammate, {"name": "Team deck"}, Upload(sample_pdf(["a"]), "a.pdf"), NOW)
    db.session.commit()
    assert [i.id for i in services.list_items(rep).items] == [item.id]
    assert [i.id for i in services.list_items(boss).items] == [item.id]
    assert services.list_items(stranger).items == []
    with pytest.raises(services.NotFound):
        services.item_for(stranger, item.id)
