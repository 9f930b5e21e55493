"""Text the code builds (issue #17): a score's explanation and an import's rejection reasons
read in the reader's language, with the English unchanged for an English reader."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.extensions import db
from crm.i18n import force_language
from crm.imports.services import ImportAborted, ImportOptions, import_file
from crm.scoring.scores import record_event
from crm.scoring.services import score_summaries
from crm.sequences.rendering import TemplateRefused, check_source
from tests.conftest import NOW


class _Sink:
    def __init__(self):
        self.rejections: list[tuple[int, str]] = []

    def stage(self, tally, rejections, notes):
        pass

    def committed(self, tally, rejections, notes):
        self.rejections.extend(rejections)


def test_a_spanish_reader_gets_the_score_explained_in_spanish(make_company, make_contact, alice):
    company = make_company(name="Big Pumps", employee_count=500, industry="Manufacturing")
    contact = make_contact(first_name="Ana", last_name="Ruiz", title="VP Operations", company_id=company.id,
                           owner_id=alice.id)
    for days in (1, 2, 3):
        record_event(contact.id, "page_viewed", NOW - timedelta(days=days), url="https://acme.example/pricing")
    record_event(contact.id, "email_opened", NOW - timedelta(days=1))
    db.session.commit()
    with force_language("es-MX"):
        spanish = score_summaries([contact.id], NOW)[contact.id].factors
    assert spanish[0] == "leyó la página de precios 3 veces esta semana"
    assert "abrió 1 correo esta semana" in spanish
    assert "VP en una empresa de 500 personas" in spanish
    with force_language("en"):
        english = score_summaries([contact.id], NOW)[contact.id].factors
    assert english[0] == "read the pricing page 3 times this week"
    assert "VP at a 500-person company" in english


def test_a_spanish_reader_gets_import_rejections_in_spanish(tmp_path, admin):
    path = tmp_path / "contacts.csv"
    path.write_text("email,first_name,language\nana@example.com,Ana,fr\n,Sin Correo,es\n", encoding="utf-8")
    sink = _Sink()
    with force_language("es"):
        import_file(path, "contacts", actor=admin, now=NOW, options=ImportOptions(), sink=sink)
    reasons = dict(sink.rejections)
    assert "'fr': en (inglés) o es (español)" in reasons[2]
    assert reasons[3] == "correo: vacío"


def test_a_queued_import_stores_its_rejections_in_the_uploaders_language(app, alice, tmp_path, monkeypatch):
    from sqlalchemy import select

    from crm.imports import services
    from crm.imports.jobs import run_queued_imports
    from crm.imports.mapping import default_mapping
    from crm.imports.models import ImportRejection

    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(tmp_path / "uploads"))
    alice.language = "es"
    text = "email,first_name\n,Sin Correo\n"
    path = services.new_upload_path()
    path.write_text(text)
    job = services.queue_import(
        alice, kind="contacts", filename="people.csv", stored_name=path.name, on_duplicate="skip",
        encoding="utf-8", mapping=default_mapping("contacts", ["email", "first_name"]), now=NOW)
    db.session.commit()
    assert run_queued_imports(NOW) == 1
    reasons = db.session.scalars(select(ImportRejection.reason).where(ImportRejection.job_id == job.id)).all()
    assert reasons == ["correo: vacío"]


def test_a_file_refused_as_a_whole_says_why_in_the_readers_language(tmp_path, admin):
    path = tmp_path / "contacts.csv"
    path.write_text("email,first_name\n", encoding="utf-8")  # a header and nothing else
    with force_language("es"), pytest.raises(ImportAborted) as refused:
        import_file(path, "contacts", actor=admin, now=NOW, options=ImportOptions(), sink=_Sink())
    assert str(refused.value) == "el archivo tiene una línea de encabezado pero ninguna fila"


def test_a_template_refused_says_why_in_the_readers_language():
    with force_language("es"):
        with pytest.raises(TemplateRefused) as refused:
            check_source("Hola {{ contact.shoe_size }}")
        assert str(refused.value).startswith("línea 1: variable desconocida 'contact.shoe_size' (usa contact.")
    with force_language("en"):
        with pytest.raises(TemplateRefused) as refused:
            check_source("Hi {{ contact.shoe_size }}")
        assert str(refused.value).startswith("line 1: unknown token 'contact.shoe_size' (use contact.first_name")
