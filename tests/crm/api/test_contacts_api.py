from __future__ import annotations

from crm.contacts.custom_fields import define_custom_field
from crm.contacts.models import Company, Contact
from crm.extensions import db
from tests.conftest import NOW
from tests.crm.api.conftest import error_of


def test_create_contact_normalises_email_and_finds_company_from_domain(api, alice):
    response = api(alice).post("/contacts", json={
        "email": "  Ann.Smith@Globex-Industries.com ", "first_name": "Ann", "last_name": "Smith",
        "lifecycle_stage": "mql", "time_zone": "Europe/Berlin",
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["email"] == "ann.smith@globex-industries.com"
    assert body["owner_id"] == alice.id and body["owner"] == {"id": alice.id, "name": "Alice Rep"}
    assert body["company"]["name"] == "Globex Industries"
    assert body["lifecycle_stage"] == "mql"
    assert body["created_at"].endswith("+00:00")
    assert db.session.get(Contact, body["id"]).company.domain == "globex-industries.com"


def test_read_contact_and_unknown_contact_is_404(api, alice, make_contact):
    contact = make_contact(first_name="Zoe")
    assert api(alice).get(f"/contacts/{contact.id}").get_json()["first_name"] == "Zoe"
    missing = api(alice).get(f"/contacts/{contact.id + 1000}")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
    assert api(alice).get("/contacts/99999999999999999999999").status_code == 404


def test_duplicate_email_differing_only_in_case_is_a_conflict(api, alice):
    first = api(alice).post("/contacts", json={"email": "ann@example.com"})
    assert first.status_code == 201
    second = api(alice).post("/contacts", json={"email": "Ann@Example.com"})
    assert second.status_code == 409
    assert error_of(second)["fields"] == {"email": "already exists"}


def test_invalid_contact_names_every_bad_field(api, alice):
    response = api(alice).post("/contacts", json={
        "email": "not-an-address", "lifecycle_stage": "prospect", "do_not_contact": "yes",
        "owner_id": "7", "nickname": "Annie",
    })
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert set(fields) == {"lifecycle_stage", "do_not_contact", "owner_id", "nickname"}
    # Shape errors come first; the service then checks what the shape cannot (the address).
    response = api(alice).post("/contacts", json={"email": "not-an-address", "time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"email", "time_zone"}


def test_missing_email_is_required(api, alice):
    response = api(alice).post("/contacts", json={"first_name": "Ann"})
    assert response.status_code == 422
    assert "email" in error_of(response)["fields"]


def test_planner_may_not_use_contacts(api, pat, make_contact):
    contact = make_contact()
    for method, path in (("GET", "/contacts"), ("GET", f"/contacts/{contact.id}"),
                         ("DELETE", f"/contacts/{contact.id}")):
        response = api(pat).request(method, path)
        assert response.status_code == 403, (method, path)
        assert error_of(response)["code"] == "forbidden"
    assert api(pat).post("/contacts", json={"email": "x@example.com"}).status_code == 403


def test_rep_cannot_change_another_reps_contact(api, alice, bob, make_contact):
    contact = make_contact(owner_id=bob.id)
    response = api(alice).patch(f"/contacts/{contact.id}", json={"title": "CEO"})
    assert response.status_code == 403
    assert api(alice).delete(f"/contacts/{contact.id}").status_code == 403
    assert db.session.get(Contact, contact.id).title is None


def test_manager_can_change_a_team_members_contact_but_not_others(api, mallory, alice, charlie, make_contact):
    team_contact = make_contact(owner_id=alice.id)
    other_contact = make_contact(owner_id=charlie.id)
    response = api(mallory).patch(f"/contacts/{team_contact.id}", json={"title": "CTO", "phone": None})
    assert response.status_code == 200
    assert response.get_json()["title"] == "CTO"
    assert api(mallory).patch(f"/contacts/{other_contact.id}", json={"title": "CTO"}).status_code == 403


def test_patch_changes_only_the_fields_sent_and_refuses_null_for_required_ones(api, alice, make_contact):
    contact = make_contact(owner_id=alice.id, first_name="Ann", title="Buyer")
    response = api(alice).patch(f"/contacts/{contact.id}", json={"title": None, "lifecycle_stage": "sql"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["first_name"], body["title"], body["lifecycle_stage"]) == ("Ann", None, "sql")
    response = api(alice).patch(f"/contacts/{contact.id}", json={"email": None, "lifecycle_stage": None})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"email", "lifecycle_stage"}


def test_changing_email_to_an_existing_one_is_a_conflict(api, alice, make_contact):
    make_contact(email="taken@example.com")
    contact = make_contact(owner_id=alice.id)
    response = api(alice).patch(f"/contacts/{contact.id}", json={"email": "TAKEN@example.com"})
    assert response.status_code == 409


def test_delete_contact(api, alice, make_contact):
    contact_id = make_contact(owner_id=alice.id).id
    response = api(alice).delete(f"/contacts/{contact_id}")
    assert response.status_code == 204 and response.data == b""
    assert api(alice).get(f"/contacts/{contact_id}").status_code == 404


def test_list_is_paginated(api, alice, make_contact):
    for n in range(5):
        make_contact(last_name=f"Person{n}")
    body = api(alice).get("/contacts?per_page=2&page=3").get_json()
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (3, 2, 5, 3)
    assert [c["last_name"] for c in body["items"]] == ["Person4"]
    too_many = api(alice).get("/contacts?per_page=201")
    assert too_many.status_code == 422
    assert set(error_of(too_many)["fields"]) == {"per_page"}


def test_list_filters_by_search_owner_stage_and_company(api, alice, bob, make_company, make_contact):
    acme = make_company(name="Acme Rockets")
    make_contact(first_name="Wile", last_name="Coyote", owner_id=alice.id, company_id=acme.id)
    make_contact(first_name="Road", last_name="Runner", owner_id=bob.id, lifecycle_stage="customer")
    make_contact(first_name="Bugs", last_name="Bunny", owner_id=alice.id, lifecycle_stage="customer")

    def names(query):
        response = api(alice).get("/contacts?" + query)
        assert response.status_code == 200, response.get_json()
        return sorted(c["first_name"] for c in response.get_json()["items"])

    assert names("q=acme") == ["Wile"]
    assert names("q=RUNNER") == ["Road"]
    assert names(f"owner_id={alice.id}") == ["Bugs", "Wile"]
    assert names("lifecycle_stage=customer") == ["Bugs", "Road"]
    assert names(f"company_id={acme.id}") == ["Wile"]
    assert names(f"owner_id={alice.id}&lifecycle_stage=customer") == ["Bugs"]


def test_list_sorts_both_ways(api, alice, make_contact):
    for last in ("Baker", "Adams", "Clark"):
        make_contact(last_name=last)
    ascending = [c["last_name"] for c in api(alice).get("/contacts?sort=name").get_json()["items"]]
    descending = [c["last_name"] for c in api(alice).get("/contacts?sort=-name").get_json()["items"]]
    assert ascending == ["Adams", "Baker", "Clark"] and descending == ascending[::-1]
    assert api(alice).get("/contacts?sort=shoe_size").status_code == 422


def test_custom_fields_travel_in_and_out_and_are_validated(api, admin, alice):
    define_custom_field(admin, "contact", "tier", "Tier", "choice", ["gold", "silver"])
    define_custom_field(admin, "contact", "seats", "Seats", "number")
    db.session.commit()
    response = api(alice).post("/contacts", json={"email": "ann@example.com", "custom": {"tier": "gold", "seats": 12}})
    assert response.status_code == 201
    assert response.get_json()["custom"] == {"tier": "gold", "seats": 12}
    contact_id = response.get_json()["id"]
    response = api(alice).patch(f"/contacts/{contact_id}", json={"custom": {"seats": "40"}})
    assert response.get_json()["custom"] == {"tier": "gold", "seats": 40}  # merged, coerced
    response = api(alice).patch(f"/contacts/{contact_id}", json={"custom": {"tier": "bronze", "colour": "red"}})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"custom.tier", "custom.colour"}
    response = api(alice).patch(f"/contacts/{contact_id}", json={"custom": {"tier": {"nested": ["junk"]}}})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"custom.tier"}


def test_list_filters_by_custom_fields(api, admin, alice, make_contact):
    define_custom_field(admin, "contact", "tier", "Tier", "choice", ["gold", "silver"])
    define_custom_field(admin, "contact", "seats", "Seats", "number")
    define_custom_field(admin, "contact", "partner", "Partner", "boolean")
    db.session.commit()
    make_contact(first_name="Gold", custom={"tier": "gold", "seats": 10, "partner": True})
    make_contact(first_name="Silver", custom={"tier": "silver", "seats": 10, "partner": False})
    make_contact(first_name="Plain")

    def names(query):
        response = api(alice).get("/contacts?" + query)
        assert response.status_code == 200, response.get_json()
        return sorted(c["first_name"] for c in response.get_json()["items"])

    assert names("custom.tier=gold") == ["Gold"]
    assert names("custom.seats=10") == ["Gold", "Silver"]
    assert names("custom.partner=no") == ["Silver"]
    assert names("custom.seats=10&custom.tier=silver") == ["Silver"]
    unknown = api(alice).get("/contacts?custom.shoe_size=9")
    assert unknown.status_code == 422 and "custom.shoe_size" in error_of(unknown)["fields"]
    bad = api(alice).get("/contacts?custom.seats=many")
    assert bad.status_code == 422 and "custom.seats" in error_of(bad)["fields"]


def test_listing_10_or_1000_contacts_costs_the_same_queries(api, alice, make_user, count_queries):
    owners = [make_user("rep") for _ in range(3)]
    companies = [Company(name=f"Co {n}", domain=f"co{n}.com", created_at=NOW, updated_at=NOW, custom={})
                 for n in range(20)]
    db.session.add_all(companies)
    db.session.flush()

    def add_contacts(start, count):
        db.session.add_all(
            Contact(email=f"p{n}@example.com", first_name="P", last_name=f"{n:05d}",
                    company_id=companies[n % 20].id, owner_id=owners[n % 3].id,
                    created_at=NOW, updated_at=NOW, custom={})
            for n in range(start, start + count)
        )
        db.session.commit()

    client = api(alice)
    client.get("/contacts")  # first use of the token writes last_used_at: not what is measured
    add_contacts(0, 10)
    with count_queries() as small:
        assert len(client.get("/contacts?per_page=200").get_json()["items"]) == 10
    add_contacts(10, 990)
    with count_queries() as large:
        body = client.get("/contacts?per_page=200").get_json()
    assert body["total"] == 1000 and len(body["items"]) == 200
    assert large.count == small.count
