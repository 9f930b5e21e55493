"""Documents fixtures: a storage directory per test, PDFs and videos made in the test (a
hand-written PDF; ffmpeg's lavfi test source), a rep with a shared document ready to read."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from crm.documents import services
from crm.documents.samples import sample_pdf
from crm.documents.worker import process_pending
from crm.extensions import db
from tests.conftest import NOW
from tests.crm.api.conftest import api  # noqa: F401  (the API client fixture)

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
PAGES = ["Proposal for Northwind", "Scope of work", "Pricing: 40 seats", "Timeline", "Terms"]


class Upload:
    """What a page's or the API's file field gives the services."""

    def __init__(self, data: bytes, filename: str):
        self.stream, self.filename = io.BytesIO(data), filename


@pytest.fixture
def storage(app, tmp_path):
    saved = {key: app.config.get(key) for key in ("DOCUMENTS_DIR", "DOCUMENT_MAX_BYTES", "VIDEO_MAX_BYTES")}
    app.config["DOCUMENTS_DIR"] = tmp_path / "documents"
    yield tmp_path / "documents"
    app.config.update(saved)


@pytest.fixture(scope="session")
def video_bytes(tmp_path_factory):
    """A two-second MP4 and WebM from ffmpeg's test pattern (lavfi testsrc)."""
    folder = tmp_path_factory.mktemp("videos")
    made = {}
    for ext, codec in (("mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"]), ("webm", ["-c:v", "libvpx"])):
        target = folder / f"test.{ext}"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=duration=2:size=160x120:rate=10", *codec, str(target)], check=True, timeout=120)
        made[ext] = Path(target).read_bytes()
    return made


@pytest.fixture
def rep(make_user):
    return make_user("rep", name="Rita Rep")


@pytest.fixture
def prospect(make_company, make_contact, rep):
    company = make_company(name="Northwind", domain="northwind.example")
    return make_contact(email="paula@northwind.example", first_name="Paula", last_name="Prospect",
                        company_id=company.id, owner_id=rep.id)


@pytest.fixture
def ready_document(storage, rep):
    """A five-page document, uploaded and processed by the worker."""
    item = services.create_document(rep, {"name": "Northwind proposal"}, Upload(sample_pdf(PAGES), "proposal.pdf"),
                                    NOW)
    db.session.commit()
    assert process_pending(NOW) == {"ready": 1, "failed": 0}
    return db.session.get(type(item), item.id)


@pytest.fixture
def shared(ready_document, rep, prospect):
    """A link of the ready document for the prospect, and its token."""
    link = services.create_link(rep, ready_document.id, {"contact_id": prospect.id}, NOW)
    db.session.commit()
    return link, services.link_token(link)


def browser(ip="198.51.100.20", agent=CHROME):
    return services.Request(ip=ip, user_agent=agent)
