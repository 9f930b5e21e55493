"""Code words (a deal's status, an S&OP step's status, a supply strategy, a probability source,
an import's status...) read through one translated label lookup on pages and inside sentences,
in the reader's language; data and the API keep the codes (issue #17)."""
from __future__ import annotations

import pytest

from crm.alerts.models import ALERT_KINDS
from crm.calls.models import ENTRY_STATUSES
from crm.deals.models import DEAL_STATUSES
from crm.deals.services import close_deal
from crm.extensions import db
from crm.i18n import code_label, force_language
from crm.imports.models import IMPORT_KINDS, IMPORT_STATUSES
from crm.jobs.models import JOB_STATUSES
from crm.mail.models import OUTBOUND_STATUSES
from crm.sequences.enrollments import PAUSE_REASONS
from crm.sequences.models import ENROLLMENT_STATUSES
from crm.sequences.runner import STOP_REASONS
from crm.tracking.models import VERDICTS
from planning_bridge.contracts import CANDIDATE_SOURCES, PROBABILITY_SOURCES
from planning_bridge.pages.imports import IMPORTERS
from planning_bridge.sop.models import REVIEW_STATUSES, STEP_STATUSES, VERSION_SOURCES
from planning_bridge.sop.models import STRATEGIES as PRODUCTION_STRATEGIES
from planning_bridge.sop.review import PRICE_SOURCES
from planning_bridge.supply.model import COST_PARTS
from planning_bridge.supply.strategies import STRATEGIES as SUPPLY_STRATEGIES
from tests.conftest import NOW, csrf_from
from tests.crm.api.conftest import ApiClient

VOCABULARIES = {
    "deal_status": DEAL_STATUSES, "email_status": OUTBOUND_STATUSES, "enrollment_status": ENROLLMENT_STATUSES,
    "enrollment_stop_reason": STOP_REASONS, "enrollment_pause_reason": PAUSE_REASONS, "job_status": JOB_STATUSES,
    "import_kind": IMPORT_KINDS, "import_status": IMPORT_STATUSES,
    "probability_source": set(PROBABILITY_SOURCES) | set(CANDIDATE_SOURCES), "planning_import_kind": IMPORTERS,
    "sop_step_status": STEP_STATUSES, "sop_review_status": REVIEW_STATUSES,
    "production_strategy": PRODUCTION_STRATEGIES, "plan_version_source": VERSION_SOURCES,
    "price_source": PRICE_SOURCES, "supply_strategy": SUPPLY_STRATEGIES, "supply_plan": SUPPLY_STRATEGIES,
    "supply_cost_part": COST_PARTS, "tracking_verdict": VERDICTS, "alert_kind": ALERT_KINDS,
    "call_entry_status": ENTRY_STATUSES,
}


def test_every_vocabulary_labels_exactly_its_codes(app):
    declared = app.extensions["crm_code_labels"]
    assert set(declared) == set(VOCABULARIES)
    for name, codes in VOCABULARIES.items():
        assert set(declared[name]) == set(codes), name


def test_a_label_reads_in_the_readers_language(app):
    with force_language("en"):
        assert code_label("won", "deal_status") == "Won"
        assert code_label("chase", "supply_plan") == "Chase plan"
        assert code_label("in_progress", "sop_step_status") == "In progress"
        assert code_label("some_new_code", "deal_status") == "some new code"  # not listed: the code as words
        assert code_label(None, "deal_status") == ""
    with force_language("es-MX"):
        assert code_label("won", "deal_status") == "Ganado"
        assert code_label("stage", "probability_source") == "Valores de la etapa"
        assert code_label("chase", "supply_strategy") == "Persecución"
        assert code_label("make_to_order", "production_strategy") == "Fabricación bajo pedido"
        assert code_label("escalated", "sop_review_status") == "Escalado"
        assert code_label("cancelled", "email_status") == "Cancelado"
        assert code_label("failed", "import_status") == "Falló"


@pytest.fixture
def won_deal(admin, make_deal, alice):
    deal = make_deal(owner_id=alice.id)
    close_deal(admin, deal.id, won=True, now=NOW, closed_on=NOW.date())
    db.session.commit()
    return deal


def test_a_closed_deal_reads_its_status_in_spanish_and_the_api_keeps_the_code(client, login, alice, won_deal,
                                                                                 api_token):
    alice.language = "es"
    db.session.commit()
    login(client, alice)
    page = client.get(f"/deals/{won_deal.id}").get_data(as_text=True)
    assert '<span class="badge badge-status-won">Ganado</span>' in page
    assert "Cerrado como <strong>Ganado</strong>" in page
    edit = client.get(f"/deals/{won_deal.id}/edit").get_data(as_text=True)
    assert "cerrado como ganado; reábrelo" in edit
    assert ">Won<" not in page and "closed as won" not in edit
    body = ApiClient(client, api_token(alice)).get(f"/deals/{won_deal.id}").get_json()
    assert body["status"] == "won"


def test_sop_statuses_read_in_spanish_in_pages_and_messages(client, login, pat, cycle, api_token):
    from tests.planning_bridge.sop.conftest import API, CYCLE_MONTH

    pat.language = "es"
    db.session.commit()
    login(client, pat)
    page = client.get(f"/planning/cycles/{CYCLE_MONTH}").get_data(as_text=True)
    assert '<span class="badge step-status">En curso</span>' in page
    assert '<span class="badge step-status">Pendiente</span>' in page
    assert "in progress" not in page and ">pending<" not in page
    pre_meeting = client.get(f"/planning/cycles/{CYCLE_MONTH}/pre-meeting").get_data(as_text=True)
    assert '<span class="badge review-open">Abierto</span>' in pre_meeting
    answer = client.post(f"{API}/cycles/{CYCLE_MONTH}/steps/demand_review", json={"action": "start"},
                         headers=api_token(pat))
    assert answer.status_code == 409
    assert "ya está en curso" in answer.get_json()["error"]["message"]


@pytest.fixture
def cycle(pat, families, stages):
    from planning_bridge.sop import services
    from tests.planning_bridge.sop.conftest import CYCLE_MONTH

    opened = services.open_cycle(pat, CYCLE_MONTH, NOW)
    db.session.commit()
    return opened


def test_supply_strategies_read_in_spanish(client, login, pat, cycle):
    from planning_bridge.sop import services as sop
    from tests.planning_bridge.sop.conftest import CYCLE_MONTH, FIRST

    for period, units in zip(sop.horizon_periods(cycle)[:6], (60, 80, 150, 200, 120, 60)):
        sop.add_override(pat, CYCLE_MONTH, "PUMP", period, units, "seasonal plan", NOW)
    sop.set_capacity(pat, CYCLE_MONTH, [{"family": "PUMP", "period": FIRST, "units": 500}], NOW)
    pat.language = "es"
    db.session.commit()
    login(client, pat)
    html = client.get(f"/planning/cycles/{CYCLE_MONTH}/supply/PUMP").get_data(as_text=True)
    for header in ("Óptimo", "Persecución", "Nivelado"):
        assert f'<th scope="col" class="num">{header}</th>' in html
    assert "Plan de persecución mes por mes" in html and "Horas extra" in html
    assert '<th scope="col" class="num">chase</th>' not in html and "regular labour" not in html


def test_import_statuses_and_kinds_read_in_spanish(client, login, alice, tmp_path, app, monkeypatch):
    from crm.imports import services
    from crm.imports.mapping import default_mapping

    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(tmp_path / "uploads"))
    path = services.new_upload_path()
    path.write_text("email,first_name\nana@example.com,Ana\n")
    job = services.queue_import(alice, kind="deals", filename="negocios.csv", stored_name=path.name,
                                on_duplicate="skip", encoding="utf-8",
                                mapping=default_mapping("contacts", ["email", "first_name"]), now=NOW)
    alice.language = "es"
    db.session.commit()
    login(client, alice)
    page = client.get(f"/imports/{job.id}").get_data(as_text=True)
    assert ">En cola</span>" in page and "Negocios ·" in page


def test_the_snapshot_list_names_the_source_asked_for_in_spanish(client, login, pat, families, stages):
    from planning_bridge import services

    services.take_snapshot(actor_id=pat.id, now=NOW, start=f"{NOW:%Y-%m}", end=f"{NOW:%Y-%m}",
                           probabilities="calibrated")
    pat.language = "es"
    db.session.commit()
    login(client, pat)
    page = client.get("/planning/snapshots").get_data(as_text=True)
    assert "(solicitado: Calibrada)" in page
    assert csrf_from(page)  # a real page, with its forms
