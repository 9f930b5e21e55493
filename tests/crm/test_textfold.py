"""Accent- and case-insensitive matching (issue #17): fit rules, keyword trackers and searches
treat "Gerente de Mantenimiento", "GERENTE" and "gerénte" alike, with Spanish and English terms
side by side, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from crm.contacts import services as contacts
from crm.deals import services as deals
from crm.reviews.matching import matches
from crm.scoring.models import FitRule
from crm.scoring.rules import FitSpec, fit_of
from crm.textfold import fold, like_pattern


def test_fold():
    assert fold("  Gerente de   MANTENIMIENTO ") == "gerente de mantenimiento"
    assert fold("Dirección de Compras") == "direccion de compras"
    assert fold("Señora Müller") == "senora muller"
    assert fold(None) == ""
    assert like_pattern("50%_a\\") == "%50\\%\\_a\\\\%"


@pytest.mark.parametrize("title, points", [
    ("Gerente de Mantenimiento", 30), ("GERENTE DE PLANTA", 30), ("Dirección de Compras", 25),
    ("Director de compras", 25), ("Plant Manager", 20), ("plant   manager", 20), ("Gerencia", 0),
    ("Subgerente", 0), ("Compras", 0), (None, 0),
])
def test_fit_rules_match_spanish_and_english_terms_without_accents_or_case(title, points):
    rules = [FitSpec.of(FitRule(attribute="title", match="gerente|Gerénte General", points=30, label="Gerente")),
             FitSpec.of(FitRule(attribute="title", match="director de compras|dirección de compras", points=25,
                                label="Compras")),
             FitSpec.of(FitRule(attribute="title", match="plant manager", points=20, label="Plant manager")),
             FitSpec.of(FitRule(attribute="industry", match="Fabricación", points=10, label="Fabricación"))]
    assert fit_of(rules, title, None, None).points == points
    assert fit_of(rules, title, None, "fabricacion").points == points + 10


def test_trackers_hold_spanish_and_english_phrases():
    found = matches(["precio", "too expensive", "muy caro"], fold("El PRECÍO es muy  caro, too expensive"))
    assert {m.phrase: m.count for m in found} == {"precio": 1, "too expensive": 1, "muy caro": 1}


def test_contact_and_deal_search_ignore_accents_and_case(make_contact, make_company, make_deal):
    company = make_company(name="Aceros del Norte Monterrey")
    make_contact(first_name="José", last_name="Núñez", title="Gerente de Mantenimiento", company_id=company.id)
    make_contact(first_name="Jane", last_name="Doe", title="Plant Manager")
    assert [c.last_name for c in contacts.search_contacts("jose nunez").items] == ["Núñez"]
    assert [c.last_name for c in contacts.search_contacts("NÚÑEZ").items] == ["Núñez"]
    assert [c.last_name for c in contacts.search_contacts("gerente").items] == ["Núñez"]
    assert [c.last_name for c in contacts.search_contacts("monterrey").items] == ["Núñez"]
    assert [c.last_name for c in contacts.search_contacts("PLANT manager").items] == ["Doe"]
    assert contacts.search_contacts("100%").total == 0  # LIKE wildcards are literal
    assert [c.name for c in contacts.list_companies("ACEROS").items] == ["Aceros del Norte Monterrey"]
    make_deal(name="Válvulas para Pemex")
    assert [d.name for d in deals.list_deals(q="valvulas").items] == ["Válvulas para Pemex"]


