"""The upload flow: upload -> mapping -> queued job -> worker -> results page, for sales users only."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from crm.contacts.models import Contact
from crm.extensions import db
from crm.imports.jobs import run_queued_imports
from crm.imports.models import ImportJob
from tests.conftest import NOW, csrf_from

CONTACTS = (
    "E-mail,First Name,Favourite Colour,Owner\n"
    "ana@iberia-valves.com,Ana,blue,\n"
    "not-an-email,Bob,red,\n"
    "lea@nordic-pumps.com,Lea,green,\n"
    "eve@acme-widgets.com,Eve,,<b>boss</b>\n"
)


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(folder))
    return folder


def _upload(client, text=CONTACTS, filename="people.csv", content_type="text/csv", **fields):
    token = csrf_from(client.get("/imports/new").get_data(as_text=True))
    data = {"csrf_token": token, "kind": "contacts", "on_duplicate": "skip", "encoding": "utf-8",
            "file": (io.BytesIO(text.encode() if isinstance(text, str) else text), filename, content_type),
            **fields}
    return client.post("/imports/new", data=data, content_type="multipart/form-data")


def _confirm(client, **choices):
    page = client.get("/imports/mapping").get_data(as_text=True)
    selected = dict(re.findall(r'<select[^>]*name="(col_\d+)".*?<option selected value="([^"]*)"', page, re.S))
    return client.post("/imports/mapping", data={"csrf_token": csrf_from(page), **selected, **choices})


def test_upload_map_run_and_read_the_results(client, alice, login, upload_dir):
    login(client, alice)
    response = _upload(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/imports/mapping")
    stored = list(upload_dir.iterdir())
    assert len(stored) == 1 and stored[0].name != "people.csv"  # a random name, never the user's

    page = client.get("/imports/mapping").get_data(as_text=True)
    assert "Favourite Colour" in page and "ana@iberia-valves.com" in page  # columns with samples
    assert re.search(r'name="col_0".*?<option selected value="email"', page, re.S)

    response = _confirm(client, col_1="")  # the user decides not to import first names
    assert response.status_code == 302
    job = db.session.scalar(select(ImportJob))
    assert (job.status, job.user_id, job.kind, job.filename) == ("queued", alice.id, "contacts", "people.csv")
    assert response.headers["Location"].endswith(f"/imports/{job.id}")

    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "<progress" in page and "imports.js" in page and "<script>" not in page
    assert client.get(f"/imports/{job.id}/status").get_json()["status"] == "queued"

    assert run_queued_imports(NOW) == 1
    status = client.get(f"/imports/{job.id}/status").get_json()
    assert status == {"status": "done", "finished": True, "bytes_read": len(CONTACTS), "total_bytes": len(CONTACTS),
                      "rows_seen": 4, "created": 2, "updated": 0, "skipped": 0, "rejected": 2, "noted": 0,
                      "error": None}
    assert {c.first_name for c in db.session.scalars(select(Contact))} == {""}
    assert not any(upload_dir.iterdir())  # the file is deleted once imported

    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert "<progress" not in page and "Rows rejected" in page
    assert re.search(r">3</td><td>email: ", page) and re.search(r">5</td><td>owner: ", page)
    assert "&lt;b&gt;boss&lt;/b&gt;" in page and "<b>boss" not in page  # user data escaped

    download = client.get(f"/imports/{job.id}/rejects.csv")
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    lines = download.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "line,reason" and len(lines) == 3
    assert lines[1].startswith("3,email: ") and lines[2].startswith("5,owner: ")

    assert "people.csv" in client.get("/imports").get_data(as_text=True)


def test_rejects_download_neutralises_spreadsheet_formulas():
    from crm.imports.csvsafe import safe_cell

    assert safe_cell("=HYPERLINK(\"http://evil\")") == "'=HYPERLINK(\"http://evil\")"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell("email: bad") == "email: bad"


def test_mapping_must_still_name_an_email_column(client, alice, login):
    login(client, alice)
    _upload(client)
    response = _confirm(client, col_0="")
    assert response.status_code == 400
    assert "required column missing: Email" in response.get_data(as_text=True)
    assert db.session.scalar(select(ImportJob.id)) is None


def test_uploads_that_are_not_csv_are_refused_clearly(client, alice, login, upload_dir):
    login(client, alice)
    response = _upload(client, filename="people.xlsx")
    assert response.status_code == 400 and "Only .csv files" in response.get_data(as_text=True)
    response = _upload(client, text=b"PK\x03\x04 workbook", content_type="application/vnd.ms-excel")
    assert response.status_code == 400 and "Excel workbook" in response.get_data(as_text=True)
    response = _upload(client, content_type="application/pdf")
    assert response.status_code == 400 and "not as CSV" in response.get_data(as_text=True)
    response = _upload(client, text="")
    assert response.status_code == 400 and "the file is empty" in response.get_data(as_text=True)
    assert not any(upload_dir.iterdir())


def test_an_upload_over_the_size_limit_is_refused(app, client, alice, login, monkeypatch):
    login(client, alice)
    token = csrf_from(client.get("/imports/new").get_data(as_text=True))
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/imports/new", content_type="multipart/form-data", data={
        "csrf_token": token, "kind": "contacts", "on_duplicate": "skip", "encoding": "utf-8",
        "file": (io.BytesIO(b"email\n" + b"a@acme-widgets.com\n" * 200), "big.csv", "text/csv")})
    assert response.status_code == 413
    assert "larger than the" in response.get_data(as_text=True)


def test_upload_without_csrf_token_is_refused(client, alice, login):
    login(client, alice)
    response = client.post("/imports/new", content_type="multipart/form-data", data={
        "kind": "contacts", "file": (io.BytesIO(CONTACTS.encode()), "people.csv", "text/csv")})
    assert response.status_code == 400


def test_a_failed_job_shows_its_error(client, alice, login, upload_dir):
    login(client, alice)
    _upload(client)
    _confirm(client)
    job = db.session.scalar(select(ImportJob))
    for path in upload_dir.iterdir():
        path.write_text("Name\nno email column any more\n")
    run_queued_imports(NOW)
    db.session.refresh(job)
    assert job.status == "failed" and "header changed" in job.error
    assert "header changed" in client.get(f"/imports/{job.id}").get_data(as_text=True)


def test_planners_cannot_import(client, pat, login):
    login(client, pat)
    for url in ("/imports", "/imports/new", "/imports/mapping", "/imports/1", "/imports/1/status",
                "/imports/1/rejects.csv"):
        assert client.get(url).status_code == 403, url


def test_users_see_only_their_own_imports_and_admins_see_all(app, client, alice, bob, admin, login):
    login(client, alice)
    _upload(client)
    _confirm(client)
    job = db.session.scalar(select(ImportJob))
    other = app.test_client()
    login(other, bob)
    for url in (f"/imports/{job.id}", f"/imports/{job.id}/status", f"/imports/{job.id}/rejects.csv"):
        assert other.get(url).status_code == 404, url
    assert "people.csv" not in other.get("/imports").get_data(as_text=True)
    boss = app.test_client()
    login(boss, admin)
    assert boss.get(f"/imports/{job.id}").status_code == 200
    assert "people.csv" in boss.get("/imports").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/imports/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_deals_file_goes_through_the_same_flow(client, alice, login, stages, families):
    from crm.deals.models import Deal

    login(client, alice)
    text = ("Deal,Stage,Close date,Product,Qty,Price\n"
            "Pumps for Lyon,Proposal,2026-06-30,PUMP,2,500\nPumps for Lyon,Proposal,2026-06-30,VALVE,1,50\n")
    assert _upload(client, text=text, kind="deals", on_duplicate="update").status_code == 302
    page = client.get("/imports/mapping").get_data(as_text=True)
    assert "Product family code" in page and "Job title" not in page
    assert _confirm(client).status_code == 302
    run_queued_imports(NOW)
    deal = db.session.scalar(select(Deal))
    assert (deal.name, deal.owner_id, len(deal.lines), str(deal.amount)) == ("Pumps for Lyon", alice.id, 2, "1050.00")
    job = db.session.scalar(select(ImportJob))
    assert "Deals created" in client.get(f"/imports/{job.id}").get_data(as_text=True)


def test_the_preview_page_reads_spanish_excel_and_saves_the_mapping_as_a_preset(client, alice, login):
    from pathlib import Path

    from crm.imports.models import ImportPreset

    login(client, alice)
    content = (Path(__file__).resolve().parents[2] / "fixtures" / "imports" / "excel-es-cp1252.csv").read_bytes()
    response = _upload(client, text=content, filename="clientes.csv", encoding="auto", delimiter="auto")
    assert response.status_code == 302
    page = client.get("/imports/mapping").get_data(as_text=True)
    assert "<strong>cp1252</strong>" in page and "<strong>semicolon</strong>" in page
    assert "José" in page and "Núñez Peña" in page  # the first rows, decoded
    assert re.search(r'name="col_2".*?<option selected value="email"', page, re.S)
    response = _confirm(client, preset_name="Excel ES", date_order="dmy")
    assert response.status_code == 302
    preset = db.session.scalar(select(ImportPreset))
    assert (preset.name, preset.mapping["Correo electrónico"]) == ("Excel ES", "email")
    job = db.session.scalar(select(ImportJob))
    assert (job.encoding, job.delimiter) == ("cp1252", ";")
    assert run_queued_imports(NOW) == 1
    db.session.refresh(job)
    assert (job.status, job.created_count, job.rejected_count) == ("done", 4, 0)
