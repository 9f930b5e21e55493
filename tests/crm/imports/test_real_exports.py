"""Files shaped the way HubSpot, Salesforce, Pipedrive and Excel on a Spanish Windows write them
(tests/fixtures/imports/README.md) import completely, without hand editing (issue #18)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity, Contact
from crm.deals.models import Deal
from crm.extensions import db
from crm.imports.services import ImportOptions, preview_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"


@pytest.fixture
def rita(make_user):
    return make_user("rep", name="Rita Berger", email="rita.berger@acme-sales.com")


@pytest.fixture
def sam(make_user):
    return make_user("rep", name="Sam Okafor", email="sam.okafor@acme-sales.com")


def _contacts():
    return {c.email: c for c in db.session.scalars(select(Contact))}


def test_hubspot_contacts_export(rita, sam, run_import):
    outcome, sink = run_import(FIXTURES / "hubspot-contacts-export.csv")
    assert not sink.rejections and (outcome.tally.rows_seen, outcome.tally.created) == (7, 7)
    contacts = _contacts()
    stages = {email: c.lifecycle_stage for email, c in contacts.items()}
    assert stages == {
        "ana.garcia@iberia-valves.com": "lead",  # Subscriber
        "lea@nordic-pumps.com": "lead",
        "tom.becker@rhein-hydraulik.de": "mql",
        "chloe.martin@lyon-fluides.fr": "sql",
        "priya@deccan-pumps.in": "opportunity",
        "jonas.larsen@fjord-flow.no": "customer",
        "mateo.rossi@gmail.com": "customer",  # Evangelist
    }
    ana = contacts["ana.garcia@iberia-valves.com"]
    assert (ana.first_name, ana.last_name, ana.title, ana.phone) == ("Ana", "García", "Compras", "+34 911 234 567")
    assert ana.company.name == "Iberia Valves" and ana.owner_id == rita.id
    assert contacts["tom.becker@rhein-hydraulik.de"].owner_id == sam.id
    # "Create Date" is kept, on the contact and on its timeline.
    assert ana.created_at == datetime(2025, 1, 14, 9, 31, tzinfo=timezone.utc)
    created = db.session.scalar(select(Activity.occurred_at).where(Activity.contact_id == ana.id))
    assert created == ana.created_at


def test_salesforce_report_with_owner_names_and_footer(rita, sam, run_import):
    outcome, sink = run_import(FIXTURES / "salesforce-contacts-report.csv")
    assert not sink.rejections and outcome.tally.created == 3
    notes = dict(sink.notes)
    assert len(notes) == 5 and outcome.tally.noted == 5
    assert "'Total'" in notes[7] and "Confidential Information" in notes[12] and "Copyright" in notes[13]
    assert "Acme Sales GmbH" in notes[10]  # the organisation's name, after the footer began
    contacts = _contacts()
    karl, sofia = contacts["k.huber@alpen-armaturen.at"], contacts["sofia.costa@porto-flow.pt"]
    assert karl.owner_id == rita.id and sofia.owner_id == rita.id  # "rita berger": case folded
    assert contacts["omar@levant-pumps.jo"].owner_id == sam.id
    assert karl.company.name == "Alpen Armaturen AG" and karl.source == "Trade Show"
    assert karl.created_at.date().isoformat() == "2025-01-22"  # 1/22/2025: month first
    assert sofia.created_at.date().isoformat() == "2025-02-14"


def test_pipedrive_people_export(rita, sam, run_import):
    outcome, sink = run_import(FIXTURES / "pipedrive-people-export.csv")
    assert not sink.rejections and outcome.tally.created == 3
    elif_ = _contacts()["elif@bosporus-valves.com.tr"]
    assert (elif_.first_name, elif_.last_name, elif_.company.name) == ("Elif", "Yilmaz", "Bosporus Valves")
    assert elif_.owner_id == rita.id and elif_.created_at.isoformat() == "2025-04-01T10:15:00+00:00"


def test_excel_on_spanish_windows_cp1252_semicolons(admin, run_import):
    outcome, sink = run_import(FIXTURES / "excel-es-cp1252.csv")
    assert not sink.rejections and outcome.tally.created == 4
    assert (outcome.detected.encoding, outcome.detected.delimiter) == ("cp1252", ";")
    assert outcome.mapping.targets == ["first_name", "last_name", "email", "company", "phone", "title"]
    jose = _contacts()["jose.nunez@valvulas-iberica.es"]
    assert (jose.first_name, jose.last_name, jose.title) == ("José", "Núñez Peña", "Director de Compras")
    assert jose.company.name == "Válvulas Ibérica S.L." and jose.phone == "+34 915 55 12 34"


def test_the_preview_shows_detected_settings_mapping_and_first_rows_and_writes_nothing(admin):
    preview = preview_file(FIXTURES / "excel-es-cp1252.csv", "contacts", ImportOptions(), rows=2)
    assert (preview.detected.encoding, preview.detected.delimiter_name) == ("cp1252", "semicolon")
    assert preview.mapping.headers[2] == "Correo electrónico" and preview.missing == []
    assert [line for line, _values in preview.rows] == [2, 3]
    assert preview.rows[0][1][:2] == ["José", "Núñez Peña"]
    assert preview.day_first  # a ";" file from European Excel
    assert db.session.scalar(select(Contact.id)) is None


def test_pipedrive_deals_export_with_a_default_family(stages, families, rita, sam, run_import):
    outcome, sink = run_import(FIXTURES / "pipedrive-deals-export.csv", kind="deals", default_family="PUMP")
    assert not sink.rejections and outcome.tally.created == 3
    deals = {d.name: d for d in db.session.scalars(select(Deal))}
    retrofit = deals["Bosporus valve retrofit"]
    assert retrofit.amount == Decimal("18500") and retrofit.owner_id == rita.id
    assert retrofit.company.name == "Bosporus Valves" and retrofit.source == "import:41"
    assert deals["Lagos spare parts"].status == "won"
    assert retrofit.created_at.date().isoformat() == "2026-01-12"


def test_salesforce_opportunity_report_closed_stages_amounts_and_footer(stages, families, rita, sam, run_import):
    outcome, sink = run_import(FIXTURES / "salesforce-opportunities-report.csv", kind="deals",
                               default_family="VALVE")
    assert not sink.rejections and outcome.tally.created == 3 and outcome.tally.noted == 5
    deals = {d.name: d for d in db.session.scalars(select(Deal))}
    assert deals["Alpen valves 2026"].amount == Decimal("24500.00")
    assert deals["Alpen valves 2026"].expected_close.isoformat() == "2026-06-30"
    assert (deals["Porto pumps"].status, deals["Levant service"].status) == ("won", "lost")
    assert deals["Porto pumps"].closed_on.isoformat() == "2026-02-27"


def test_an_amount_without_a_family_is_refused_clearly_when_several_families_exist(stages, families, rita, sam,
                                                                                   run_import):
    outcome, sink = run_import(FIXTURES / "pipedrive-deals-export.csv", kind="deals")
    assert outcome.tally.created == 0 and "choose a default family" in sink.reasons()[2]
