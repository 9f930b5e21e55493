"""Roles by data (issue #19, part 4): for each role, which fields of a deal, a contact and a
company it sees, everywhere it can look: the deal page, list and board, the contact and company
pages, and the API (deals, history, contacts, companies, activities).

One table (``EXPECTED``) says what each persona reads; ``FIELDS`` says how each field shows
(a marker on pages, a marker in the API). A field the persona reads must show on the pages and
in the API; a field it does not read must show nowhere it can reach. The same table is checked
against ``crm.policy.READABLE``, the one place the rule lives."""
from __future__ import annotations

import json
from datetime import date

import pytest

from crm import policy
from crm.contacts.services import add_note, record_activity
from crm.deals.services import update_deal
from crm.extensions import db
from tests.conftest import NOW

# (kind, field) -> (page markers, API markers); ``{contact_id}`` is filled in per test.
FIELDS = {
    ("deal", "name"): (["Pump retrofit"], ['"name": "Pump retrofit"']),
    ("deal", "amount"): (["12,344.50"], ['"amount": "12344.50"']),
    ("deal", "stage"): (["Qualified"], ['"name": "Qualified"']),
    ("deal", "expected_close"): (["May 1, 2026"], ['"expected_close": "2026-05-01"']),
    ("deal", "lines"): (["VALVE"], ['"family": "VALVE"']),
    ("deal", "owner"): (["Bob Rep"], ['"name": "Bob Rep"']),
    ("deal", "company"): (["Globex Industrial"], ['"name": "Globex Industrial"']),
    ("deal", "source"): (["trade-fair"], ['"source": "trade-fair"']),
    ("deal", "history"): (['<ol class="history">'], ['"field": "stage"']),
    ("deal", "contact"): (["Erin Example"], ['"contact_id": {contact_id}']),
    ("deal", "timeline"): (["Prefers email over phone", "Asked for a callback next week", "Your retrofit quote"],
                           ["Prefers email over phone", "Asked for a callback next week", "Your retrofit quote"]),
    ("contact", "name"): (["Erin Example"], ['"first_name": "Erin"', '"last_name": "Example"']),
    ("contact", "email"): (["erin.example@mailbox.example"], ["erin.example@mailbox.example"]),
    ("contact", "phone"): (["+49 30 1234567"], ["+49 30 1234567"]),
    ("contact", "title"): (["Head of Procurement"], ["Head of Procurement"]),
    ("contact", "timeline"): (["Prefers email over phone"], ["Prefers email over phone"]),
    ("company", "name"): (["Globex Industrial"], ['"name": "Globex Industrial"']),
    ("company", "domain"): (["globex.example"], ['"domain": "globex.example"']),
    ("company", "industry"): (["Water utilities"], ['"industry": "Water utilities"']),
    ("company", "timeline"): (["Framework agreement until 2027"], ["Framework agreement until 2027"]),
}
EVERY = {kind: {f for k, f in FIELDS if k == kind} for kind in ("deal", "contact", "company")}
SALES_SEE = EVERY
EXPECTED = {
    "alice": SALES_SEE,  # a rep on the owner's team (not the owner)
    "charlie": SALES_SEE,  # a rep elsewhere
    "mallory": SALES_SEE,  # the owner's manager
    "ada": SALES_SEE,  # an admin
    "pat": {  # a planner: the deal's business data and its company's name; no person
        "deal": EVERY["deal"] - {"contact", "timeline"},
        "contact": set(),
        "company": {"name"},
    },
}
PAGES = ["/deals/{deal}", "/deals?status=all", "/deals/board", "/contacts/{contact}", "/companies/{company}"]
API = ["/deals/{deal}", "/deals?status=open", "/deals/{deal}/history", "/contacts/{contact}",
       "/companies/{company}", "/activities?deal_id={deal}", "/activities?contact_id={contact}",
       "/activities?company_id={company}"]
PLANNER_REFUSED = {"/contacts/{contact}", "/companies/{company}", "/activities?deal_id={deal}",
                   "/activities?contact_id={contact}", "/activities?company_id={company}"}


@pytest.fixture
def people(alice, bob, charlie, mallory, pat, admin):
    return {"alice": alice, "bob": bob, "charlie": charlie, "mallory": mallory, "pat": pat, "ada": admin}


@pytest.fixture
def records(people, make_company, make_contact, make_deal, stages, admin):
    bob = people["bob"]
    company = make_company(name="Globex Industrial", domain="globex.example", industry="Water utilities",
                           owner_id=bob.id)
    contact = make_contact(email="erin.example@mailbox.example", first_name="Erin", last_name="Example",
                           phone="+49 30 1234567", title="Head of Procurement", company_id=company.id,
                           owner_id=bob.id)
    deal = make_deal(name="Pump retrofit", owner_id=bob.id, contact_id=contact.id, company_id=company.id,
                     source="trade-fair", expected_close=date(2026, 5, 1),
                     lines=[{"family": "VALVE", "quantity": 7, "unit_price": "1763.50"}])
    update_deal(bob, deal.id, {"stage_id": stages[1].id}, NOW)  # Qualified, with history
    add_note(bob, "Prefers email over phone", NOW, contact_id=contact.id, deal_id=deal.id)
    record_activity("call", NOW, contact_id=contact.id, company_id=company.id, deal_id=deal.id, user_id=bob.id,
                    details={"outcome": "connected", "notes": "Asked for a callback next week"})
    record_activity("email_sent", NOW, contact_id=contact.id, company_id=company.id, deal_id=deal.id,
                    user_id=bob.id, details={"subject": "Your retrofit quote"})
    add_note(bob, "Framework agreement until 2027", NOW, company_id=company.id)
    db.session.commit()
    return {"deal": deal.id, "contact": contact.id, "company": company.id}


def _reach(client, login, api_token, user, ids) -> tuple[dict, dict]:
    """Every page and API answer ``user`` gets: {path: (status, text)}."""
    login(client, user)
    pages = {}
    for path in PAGES:
        response = client.get(path.format(**ids))
        pages[path] = (response.status_code, response.get_data(as_text=True))
    headers = api_token(user)
    answers = {}
    for path in API:
        response = client.get("/api/v1" + path.format(**ids), headers=headers)
        body = response.get_json(silent=True)
        answers[path] = (response.status_code, json.dumps(body, ensure_ascii=False) if body is not None else "")
    return pages, answers


def _markers(markers, ids) -> list[str]:
    return [m.replace("{contact_id}", str(ids["contact"])) for m in markers]


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_each_role_sees_exactly_its_fields_on_pages_and_in_the_api(client, login, api_token, people, records, persona):
    user = people[persona]
    pages, answers = _reach(client, login, api_token, user, records)
    planner = user.role == "planner"
    for path, (status, _text) in pages.items():
        assert status == (403 if planner and path in PLANNER_REFUSED else 200), (persona, path)
    for path, (status, _text) in answers.items():
        assert status == (403 if planner and path in PLANNER_REFUSED else 200), (persona, path)
    page_text = "\n".join(text for _status, text in pages.values())
    api_text = "\n".join(text for _status, text in answers.values())
    problems = []
    for (kind, field), (page_markers, api_markers) in FIELDS.items():
        sees = field in EXPECTED[persona][kind]
        for where, text, markers in (("page", page_text, page_markers), ("api", api_text, api_markers)):
            for marker in _markers(markers, records):
                if (marker in text) != sees:
                    problems.append(f"{kind}.{field} {'missing from' if sees else 'leaks into'} {where}: {marker!r}")
    assert problems == [], persona


@pytest.mark.parametrize("persona", sorted(EXPECTED))
def test_the_table_is_the_policy(people, persona):
    user = people[persona]
    for kind, fields in EVERY.items():
        for field in fields:
            assert policy.may_read(user, kind, field) == (field in EXPECTED[persona][kind]), (persona, kind, field)


def test_a_planner_reads_the_deal_api_without_its_contact(client, api_token, people, records):
    pat, alice = people["pat"], people["alice"]
    as_pat = client.get(f"/api/v1/deals/{records['deal']}", headers=api_token(pat)).get_json()
    as_alice = client.get(f"/api/v1/deals/{records['deal']}", headers=api_token(alice)).get_json()
    assert as_pat["contact_id"] is None and as_alice["contact_id"] == records["contact"]
    assert as_pat["company"] == as_alice["company"] == {"id": records["company"], "name": "Globex Industrial"}
    assert ({k: v for k, v in as_pat.items() if k != "contact_id"}
            == {k: v for k, v in as_alice.items() if k != "contact_id"})
    # Filtering by contact would tie deals to a person: not for planners.
    by_contact = f"/api/v1/deals?status=open&contact_id={records['contact']}"
    assert client.get(by_contact, headers=api_token(pat)).status_code == 403
    assert [d["id"] for d in client.get(by_contact, headers=api_token(alice)).get_json()["items"]] == [records["deal"]]


def test_a_planners_deal_page_reads_no_timeline_at_all(app, client, login, people, records, count_queries):
    """The timeline is not read for a planner, not merely hidden: the page makes fewer queries."""
    login(client, people["pat"])
    path = f"/deals/{records['deal']}"
    client.get(path)
    with count_queries() as planner:
        html = client.get(path).get_data(as_text=True)
    assert 'id="timeline"' not in html and "Contact</dt>" not in html
    as_alice = app.test_client()
    login(as_alice, people["alice"])
    as_alice.get(path)
    with count_queries() as rep:
        html = as_alice.get(path).get_data(as_text=True)
    assert 'id="timeline"' in html and "Contact</dt>" in html
    assert planner.count < rep.count


def test_the_planning_drill_down_names_deals_and_owners_but_no_contact(client, login, people, records):
    login(client, people["pat"])
    html = client.get("/planning/demand/VALVE/2026-05").get_data(as_text=True)
    assert "Pump retrofit" in html and "Bob Rep" in html
    for personal in ("Erin", "erin.example", "+49 30", "Prefers email"):
        assert personal not in html
