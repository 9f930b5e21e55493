from __future__ import annotations

from crm.contacts.custom_fields import define_custom_field
from crm.contacts.models import Company
from crm.extensions import db
from tests.crm.api.conftest import error_of


def test_create_and_read_company(api, alice):
    response = api(alice).post("/companies", json={
        "name": "Initech", "domain": "https://www.Initech.com/about", "industry": "Software",
        "employee_count": 250, "time_zone": "America/Chicago",
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["domain"], body["employee_count"]) == ("initech.com", 250)
    assert api(alice).get(f"/companies/{body['id']}").get_json() == body


def test_company_needs_a_name_and_sane_values(api, alice):
    response = api(alice).post("/companies", json={"domain": "no spaces.com", "employee_count": -1})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"name", "domain", "employee_count"}
    response = api(alice).post("/companies", json={"name": "X", "time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"time_zone"}
    # The column holds the IDNA form: short in characters can still be too long once encoded.
    response = api(alice).post("/companies", json={"name": "X", "domain": ".".join(["é"] * 120) + ".com"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"domain"}


def test_duplicate_domain_is_a_conflict(api, alice, make_company):
    make_company(domain="initech.com")
    response = api(alice).post("/companies", json={"name": "Initech 2", "domain": "WWW.INITECH.COM"})
    assert response.status_code == 409
    assert error_of(response)["fields"] == {"domain": "already taken"}


def test_list_companies_searches_and_paginates(api, alice, make_company):
    make_company(name="Acme Rockets", domain="acme.com")
    make_company(name="Acme Anvils", domain="anvils.com")
    make_company(name="Globex", domain="globex.com")
    body = api(alice).get("/companies?q=acme&per_page=1").get_json()
    assert (body["total"], body["pages"], len(body["items"])) == (2, 2, 1)
    assert body["items"][0]["name"] == "Acme Anvils"
    assert [c["name"] for c in api(alice).get("/companies?q=globex.com").get_json()["items"]] == ["Globex"]


def test_rep_cannot_change_another_reps_company_but_the_manager_can(api, alice, bob, mallory, make_company):
    company = make_company(owner_id=bob.id)
    assert api(alice).patch(f"/companies/{company.id}", json={"industry": "Retail"}).status_code == 403
    response = api(mallory).patch(f"/companies/{company.id}", json={"industry": "Retail"})
    assert response.status_code == 200 and response.get_json()["industry"] == "Retail"


def test_company_custom_fields(api, admin, alice):
    define_custom_field(admin, "company", "founded", "Founded", "date")
    db.session.commit()
    response = api(alice).post("/companies", json={"name": "Initech", "custom": {"founded": "1999-02-19"}})
    assert response.get_json()["custom"] == {"founded": "1999-02-19"}
    response = api(alice).patch(f"/companies/{response.get_json()['id']}", json={"custom": {"founded": "last year"}})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"custom.founded"}


def test_delete_company_and_unknown_company(api, alice, make_company):
    company_id = make_company().id
    assert api(alice).delete(f"/companies/{company_id}").status_code == 204
    assert db.session.get(Company, company_id) is None
    assert api(alice).get(f"/companies/{company_id}").status_code == 404
    assert api(alice).patch(f"/companies/{company_id}", json={"name": "Ghost"}).status_code == 404


def test_planner_may_not_use_companies(api, pat, make_company):
    company = make_company()
    assert api(pat).get("/companies").status_code == 403
    assert api(pat).get(f"/companies/{company.id}").status_code == 403
    assert api(pat).post("/companies", json={"name": "Nope"}).status_code == 403
