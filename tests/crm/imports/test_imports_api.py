"""The imports API: preview (nothing written), queue, follow, rejections and notes, presets."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.contacts.models import Contact
from crm.extensions import db
from crm.imports.jobs import run_queued_imports
from crm.imports.models import ImportJob
from tests.conftest import NOW

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def call(client, api_token):
    def send(user, method, path, *, files=None, data=None, json_body=None):
        headers = api_token(user)
        if files is not None:
            form = dict(data or {})
            for name, (content, filename) in files.items():
                form[name] = (io.BytesIO(content), filename, "text/csv")
            return client.open(f"/api/v1{path}", method=method, headers=headers, data=form,
                               content_type="multipart/form-data")
        return client.open(f"/api/v1{path}", method=method, headers=headers, json=json_body)

    return send


def test_preview_detects_excel_spanish_and_writes_nothing(call, alice):
    content = (FIXTURES / "excel-es-cp1252.csv").read_bytes()
    response = call(alice, "POST", "/imports/preview", files={"file": (content, "clientes.csv")})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["encoding"], body["delimiter"], body["encoding_detected"]) == ("cp1252", "semicolon", True)
    assert [c["field"] for c in body["columns"]] == ["first_name", "last_name", "email", "company", "phone", "title"]
    assert body["rows"][0] == {"line": 2, "values": ["José", "Núñez Peña", "jose.nunez@valvulas-iberica.es",
                                                     "Válvulas Ibérica S.L.", "+34 915 55 12 34",
                                                     "Director de Compras"]}
    assert body["missing"] == [] and body["day_first"] is True
    assert db.session.scalar(select(Contact.id)) is None and db.session.scalar(select(ImportJob.id)) is None


def test_preview_reports_missing_required_columns_and_applies_a_mapping(call, alice):
    content = b"Correo;Nom\nana@iberia-valves.com;Ana\n"
    body = call(alice, "POST", "/imports/preview", files={"file": (b"Foo,Bar\nx,y\n", "x.csv")}).get_json()
    assert body["missing"] == ["Email"]
    body = call(alice, "POST", "/imports/preview", files={"file": (content, "x.csv")},
                data={"mapping": json.dumps({"Nom": "full_name"})}).get_json()
    assert [c["field"] for c in body["columns"]] == ["email", "full_name"]


@pytest.mark.parametrize("data, field", [
    ({"encoding": "klingon"}, "encoding"),
    ({"delimiter": "colon"}, "delimiter"),
    ({"mapping": "[1, 2]"}, "mapping"),
    ({"mapping": json.dumps({"Nope": "email"})}, "mapping"),
    ({"kind": "planets"}, "kind"),
])
def test_bad_preview_fields_are_422_naming_the_field(call, alice, data, field):
    response = call(alice, "POST", "/imports/preview", files={"file": (b"email\na@b.co\n", "x.csv")}, data=data)
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_preview_refuses_a_missing_or_binary_file_and_an_unknown_preset(call, alice):
    response = call(alice, "POST", "/imports/preview", files={}, data={"kind": "contacts"})
    assert response.status_code == 422 and "file" in response.get_json()["error"]["fields"]
    response = call(alice, "POST", "/imports/preview", files={"file": (b"PK\x03\x04zip", "x.csv")})
    assert response.status_code == 422
    response = call(alice, "POST", "/imports/preview", files={"file": (b"email\na@b.co\n", "x.csv")},
                    data={"preset_id": "999"})
    assert response.status_code == 404


def test_queue_run_and_read_rejections_and_notes(call, alice, make_user):
    make_user("rep", name="Rita Berger", email="rita.berger@acme-sales.com")
    make_user("rep", name="Sam Okafor", email="sam.okafor@acme-sales.com")
    content = (FIXTURES / "salesforce-contacts-report.csv").read_bytes()
    response = call(alice, "POST", "/imports", files={"file": (content, "report.csv")})
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert (job["status"], job["delimiter"], job["filename"]) == ("queued", "comma", "report.csv")
    assert run_queued_imports(NOW) == 1
    job = call(alice, "GET", f"/imports/{job['id']}").get_json()
    assert (job["status"], job["created"], job["rejected"], job["noted"]) == ("done", 3, 0, 5)
    page = call(alice, "GET", f"/imports/{job['id']}/rejections").get_json()
    assert [(r["line"], r["kind"]) for r in page["items"]][:2] == [(7, "note"), (9, "note")]
    listing = call(alice, "GET", "/imports").get_json()
    assert [j["id"] for j in listing["items"]] == [job["id"]]


def test_queue_refuses_a_file_without_its_required_column(call, alice):
    response = call(alice, "POST", "/imports", files={"file": (b"Name\nAna\n", "x.csv")})
    assert response.status_code == 422 and "mapping" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(ImportJob.id)) is None


def test_presets_saved_applied_listed_and_deleted(call, alice, bob):
    response = call(alice, "POST", "/import-presets", json_body={
        "kind": "contacts", "name": "Old CRM", "mapping": {"Mail": "email", "Who": "full_name"}})
    assert response.status_code == 201
    preset = response.get_json()
    body = call(alice, "POST", "/imports/preview", files={"file": (b"Mail,Who\na@b.co,Ana B\n", "x.csv")},
                data={"preset_id": str(preset["id"])}).get_json()
    assert [c["field"] for c in body["columns"]] == ["email", "full_name"]
    assert [p["name"] for p in call(alice, "GET", "/import-presets?kind=contacts").get_json()["items"]] == ["Old CRM"]
    assert call(bob, "GET", "/import-presets").get_json()["items"] == []  # presets are their owner's
    assert call(bob, "DELETE", f"/import-presets/{preset['id']}").status_code == 404
    bad = call(alice, "POST", "/import-presets", json_body={"kind": "contacts", "name": "X", "mapping": {"A": "nope"}})
    assert bad.status_code == 422 and "mapping" in bad.get_json()["error"]["fields"]
    assert call(alice, "DELETE", f"/import-presets/{preset['id']}").status_code == 204


def test_values_the_database_would_refuse_are_422_not_500(call, alice):
    bad = call(alice, "POST", "/import-presets", json_body={"kind": "contacts", "name": "a\x00b", "mapping": {"A": ""}})
    assert bad.status_code == 422 and "name" in bad.get_json()["error"]["fields"]
    bad = call(alice, "POST", "/import-presets", json_body={"kind": "contacts", "name": "n", "mapping": {"A\x00": ""}})
    assert bad.status_code == 422 and "mapping" in bad.get_json()["error"]["fields"]
    response = call(alice, "POST", "/imports", files={"file": (b"email\na@acme-widgets.com\n", "x.csv")},
                    data={"default_family": "NOPE\x00"})
    assert response.status_code == 422 and "default_family" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(ImportJob.id)) is None
