"""The company pages: list with search, the company page (people, deals, timeline), and
create / edit / delete."""
from __future__ import annotations

import pytest

from crm.contacts.custom_fields import define_custom_field
from crm.contacts.models import Company
from crm.extensions import db
from tests.conftest import csrf_from


def csrf(client) -> str:
    return csrf_from(client.get("/account").get_data(as_text=True))


@pytest.fixture
def as_alice(client, alice, login):
    login(client, alice)
    return client


def test_empty_company_list_looks_deliberate(as_alice):
    html = as_alice.get("/companies").get_data(as_text=True)
    assert "No companies yet" in html and 'href="/companies/new"' in html


def test_company_search_by_name_or_domain(as_alice, make_company):
    make_company(name="Globex", domain="globex.com")
    make_company(name="Hooli", domain="hooli.xyz")
    html = as_alice.get("/companies?q=hooli.x").get_data(as_text=True)
    assert "Hooli" in html and "Globex" not in html
    assert "No companies match" in as_alice.get("/companies?q=zzz").get_data(as_text=True)


def test_create_company_with_custom_field(as_alice, alice, admin):
    define_custom_field(admin, "company", "segment", "Segment", "choice", ["SMB", "Enterprise"])
    db.session.commit()
    form = as_alice.get("/companies/new").get_data(as_text=True)
    assert 'name="custom_segment"' in form and "Enterprise" in form
    response = as_alice.post("/companies/new", data={
        "csrf_token": csrf_from(form), "name": "Stark Industries", "domain": "https://www.Stark.com/about",
        "industry": "Defence", "employee_count": "5000", "time_zone": "America/New_York",
        "owner_id": str(alice.id), "custom_segment": "Enterprise",
    })
    assert response.status_code == 302
    company = db.session.query(Company).one()
    assert (company.domain, company.employee_count, company.custom) == ("stark.com", 5000, {"segment": "Enterprise"})


def test_company_form_errors_are_shown(as_alice, make_company):
    make_company(name="Taken", domain="taken.com")
    response = as_alice.post("/companies/new", data={
        "csrf_token": csrf(as_alice), "name": "", "domain": "taken.com", "employee_count": "-3",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="name-error">required' in html
    assert 'id="employee_count-error">a whole number from 0 to 10,000,000' in html
    response = as_alice.post("/companies/new",
                             data={"csrf_token": csrf(as_alice), "name": "Again", "domain": "TAKEN.com"})
    assert response.status_code == 409
    assert 'id="domain-error">already taken' in response.get_data(as_text=True)


def test_company_page_lists_people_deals_and_timeline(as_alice, make_company, make_contact, make_deal):
    company = make_company(name="Wayne Enterprises", domain="wayne.com")
    make_contact(first_name="Lucius", last_name="Fox", email="lucius@wayne.com")
    make_deal(name="Batmobile fleet", company_id=company.id)
    html = as_alice.get(f"/companies/{company.id}").get_data(as_text=True)
    assert "Lucius Fox" in html and "Batmobile fleet" in html
    assert "added <a href=" in html and "Lucius Fox</a>" in html  # the contact's timeline row names the company too
    assert "opened <a href=\"/deals/" in html and "Batmobile fleet</a>" in html


def test_company_note_is_added(as_alice, make_company):
    company = make_company()
    response = as_alice.post(f"/companies/{company.id}/notes",
                             data={"csrf_token": csrf(as_alice), "body": "Budget cycle starts in May"})
    assert response.status_code == 302
    assert "Budget cycle starts in May" in as_alice.get(f"/companies/{company.id}").get_data(as_text=True)


def test_edit_and_delete_company(as_alice, make_company):
    company_id = make_company(name="Old Name").id
    form = as_alice.get(f"/companies/{company_id}/edit").get_data(as_text=True)
    assert 'value="Old Name"' in form
    response = as_alice.post(f"/companies/{company_id}/edit", data={"csrf_token": csrf_from(form), "name": "New Name"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Company, company_id).name == "New Name"
    assert as_alice.post(f"/companies/{company_id}/delete", data={}).status_code == 400  # no CSRF token
    response = as_alice.post(f"/companies/{company_id}/delete", data={"csrf_token": csrf(as_alice)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Company, company_id) is None


def test_company_name_is_escaped(as_alice, make_company):
    company = make_company(name="<script>alert(1)</script> Ltd")
    for path in ("/companies", f"/companies/{company.id}"):
        html = as_alice.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in html


def test_planner_may_not_open_companies(client, pat, login, make_company):
    company = make_company()
    login(client, pat)
    assert client.get("/companies").status_code == 403
    assert client.get(f"/companies/{company.id}").status_code == 403
