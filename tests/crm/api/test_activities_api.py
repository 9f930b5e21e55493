from __future__ import annotations

from datetime import timedelta

from crm.contacts.services import record_activity
from crm.extensions import db
from tests.conftest import NOW
from tests.crm.api.conftest import error_of


def test_note_on_a_contact_is_filed_under_its_company_too(api, alice, make_contact):
    contact = make_contact(email="ann@initech.com")
    response = api(alice).post("/activities", json={"body": "Wants a demo in May", "contact_id": contact.id})
    assert response.status_code == 201, response.get_json()
    note = response.get_json()
    assert (note["kind"], note["details"]) == ("note", {"body": "Wants a demo in May"})
    assert (note["contact_id"], note["company_id"]) == (contact.id, contact.company_id)
    assert note["user"] == {"id": alice.id, "name": "Alice Rep"}
    assert note["occurred_at"].endswith("+00:00")
    company_notes = api(alice).get(f"/activities?company_id={contact.company_id}&kind=note").get_json()
    assert [a["id"] for a in company_notes["items"]] == [note["id"]]


def test_note_on_a_deal(api, alice, make_deal):
    deal = make_deal()
    response = api(alice).post("/activities", json={"body": "Sent pricing", "deal_id": deal.id})
    assert response.status_code == 201
    kinds = [a["kind"] for a in api(alice).get(f"/activities?deal_id={deal.id}").get_json()["items"]]
    assert kinds == ["note", "deal_created"]


def test_note_needs_a_body_and_a_record(api, alice, make_contact):
    response = api(alice).post("/activities", json={"body": "   "})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"body", "contact_id"}
    response = api(alice).post("/activities", json={"body": "Hi", "contact_id": 424242})
    assert response.status_code == 404
    response = api(alice).post("/activities", json={"contact_id": make_contact().id, "kind": "call"})
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"body", "kind"}


def test_activities_are_listed_newest_first_and_paginated(api, alice, make_contact):
    contact = make_contact()
    for hours in (3, 1, 2):
        record_activity("call", NOW + timedelta(hours=hours), contact_id=contact.id, details={"h": hours})
    db.session.commit()
    body = api(alice).get(f"/activities?contact_id={contact.id}&kind=call&per_page=2").get_json()
    assert (body["total"], body["pages"]) == (3, 2)
    assert [a["details"]["h"] for a in body["items"]] == [3, 2]
    second = api(alice).get(f"/activities?contact_id={contact.id}&kind=call&per_page=2&page=2").get_json()
    assert [a["details"]["h"] for a in second["items"]] == [1]


def test_planner_may_not_use_activities(api, pat, make_contact):
    contact = make_contact()
    assert api(pat).get("/activities").status_code == 403
    assert api(pat).post("/activities", json={"body": "x", "contact_id": contact.id}).status_code == 403
