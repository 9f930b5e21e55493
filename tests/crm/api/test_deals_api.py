from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from crm.deals.models import Deal, DealChange, DealLine
from crm.extensions import db
from tests.conftest import NOW
from tests.crm.api.conftest import error_of


def deal_body(stages, **overrides):
    return {
        "name": "Pumps for Initech", "stage_id": stages[0].id, "expected_close": "2026-06-30",
        "lines": [
            {"family": "PUMP", "quantity": 3, "unit_price": "1250.50"},
            {"family": "VALVE", "quantity": 2.5, "unit_price": "10.10"},
        ],
        **overrides,
    }


def test_create_deal_with_lines_computes_amounts_as_money_strings(api, alice, stages, families, make_contact):
    contact = make_contact(email="ann@initech.com")
    response = api(alice).post("/deals", json=deal_body(stages, contact_id=contact.id))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["lines"] == [
        {"family": "PUMP", "quantity": 3.0, "unit_price": "1250.50", "amount": "3751.50", "ship_hold": None},
        {"family": "VALVE", "quantity": 2.5, "unit_price": "10.10", "amount": "25.25", "ship_hold": None},
    ]
    assert body["amount"] == "3776.75"
    assert (body["status"], body["owner_id"], body["company_id"]) == ("open", alice.id, contact.company_id)
    assert body["stage"] == {"id": stages[0].id, "name": "Prospecting", "probability": 0.1}
    assert body["expected_close"] == "2026-06-30" and body["closed_on"] is None
    assert db.session.get(Deal, body["id"]).amount == Decimal("3776.75")


def test_a_sent_line_amount_must_match_quantity_times_price(api, alice, stages, families):
    lines = [{"family": "PUMP", "quantity": 2, "unit_price": "10.00", "amount": "20.00"}]
    assert api(alice).post("/deals", json=deal_body(stages, lines=lines)).status_code == 201
    lines[0]["amount"] = "25.00"
    response = api(alice).post("/deals", json=deal_body(stages, lines=lines))
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"lines.0"}


def test_bad_deal_names_each_bad_field(api, alice, stages, families):
    response = api(alice).post("/deals", json=deal_body(
        stages, expected_close="soon", amount="100.00",
        lines=[{"family": "PUMP", "quantity": -1, "unit_price": "1.005"},
               {"family": "PUMP", "quantity": 1, "unit_price": 5}],
    ))
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert set(fields) == {"expected_close", "amount", "lines.0.quantity", "lines.0.unit_price"}
    response = api(alice).post("/deals", json=deal_body(
        stages, stage_id=999, lines=[{"family": "GIZMO", "quantity": 1, "unit_price": "1.00"}]))
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"stage_id", "lines.0.family"}


def test_amounts_beyond_the_money_column_are_refused(api, alice, stages, families):
    lines = [{"family": "PUMP", "quantity": 1e9, "unit_price": "9999999999.99"}]
    response = api(alice).post("/deals", json=deal_body(stages, lines=lines))
    assert response.status_code == 422
    lines = [{"family": "PUMP", "quantity": 1e6, "unit_price": "900000.00"}] * 2
    response = api(alice).post("/deals", json=deal_body(stages, lines=lines))
    assert response.status_code == 422


def test_patch_writes_deal_changes_and_history_lists_them(api, alice, stages, families):
    deal_id = api(alice).post("/deals", json=deal_body(stages)).get_json()["id"]
    response = api(alice).patch(f"/deals/{deal_id}", json={
        "stage_id": stages[2].id, "lines": [{"family": "VALVE", "quantity": 10, "unit_price": "99.00"}],
    })
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["amount"] == "990.00"
    changes = [
        change for change in db.session.scalars(select(DealChange).where(DealChange.deal_id == deal_id))
        if change.old_value is not None  # creation rows have no old value
    ]
    assert {c.field: (c.old_value, c.new_value) for c in changes if c.field != "lines"} == {
        "stage": ("Prospecting", "Proposal"), "amount": ("3776.75", "990.00"),
    }
    assert {c.field for c in changes} == {"stage", "amount", "lines"}
    history = api(alice).get(f"/deals/{deal_id}/history").get_json()["items"]
    assert [h["field"] for h in history if h["old_value"] is not None] == ["stage", "amount", "lines"]
    assert all(h["changed_by"] == {"id": alice.id, "name": "Alice Rep"} for h in history)
    assert history[-1]["new_value"] == [
        {"family": "VALVE", "quantity": 10.0, "unit_price": "99.00", "amount": "990.00"}
    ]


def test_close_won_lost_and_twice(api, alice, stages, families, make_deal):
    won_id = make_deal(owner_id=alice.id).id
    lost_id = make_deal(owner_id=alice.id).id
    response = api(alice).post(f"/deals/{won_id}/close", json={"won": True, "closed_on": "2026-03-01"})
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["closed_on"]) == ("won", "2026-03-01")
    assert api(alice).post(f"/deals/{won_id}/close", json={"won": True}).status_code == 409
    no_reason = api(alice).post(f"/deals/{lost_id}/close", json={"won": False})
    assert no_reason.status_code == 422 and set(error_of(no_reason)["fields"]) == {"lost_reason"}
    response = api(alice).post(f"/deals/{lost_id}/close", json={"won": False, "lost_reason": "Price"})
    assert (response.get_json()["status"], response.get_json()["lost_reason"]) == ("lost", "Price")
    stage_change = api(alice).patch(f"/deals/{lost_id}", json={"stage_id": stages[1].id})
    assert stage_change.status_code == 409
    reopened = api(alice).post(f"/deals/{lost_id}/reopen")
    assert (reopened.get_json()["status"], reopened.get_json()["closed_on"]) == ("open", None)


def test_everyone_reads_deals_but_planners_do_not_write(api, pat, stages, families, make_deal):
    deal = make_deal()
    assert api(pat).get("/deals").status_code == 200
    assert api(pat).get(f"/deals/{deal.id}").status_code == 200
    assert api(pat).get(f"/deals/{deal.id}/history").status_code == 200
    assert api(pat).post("/deals", json=deal_body(stages)).status_code == 403
    assert api(pat).patch(f"/deals/{deal.id}", json={"name": "Mine"}).status_code == 403
    assert api(pat).post(f"/deals/{deal.id}/close", json={"won": True}).status_code == 403
    assert api(pat).delete(f"/deals/{deal.id}").status_code == 403


def test_rep_cannot_change_another_reps_deal(api, alice, bob, mallory, make_deal):
    deal = make_deal(owner_id=bob.id)
    assert api(alice).patch(f"/deals/{deal.id}", json={"name": "Mine"}).status_code == 403
    assert api(alice).post(f"/deals/{deal.id}/close", json={"won": True}).status_code == 403
    assert api(mallory).patch(f"/deals/{deal.id}", json={"name": "Team deal"}).status_code == 200


def test_list_filters_deals(api, alice, bob, stages, make_company, make_contact, make_deal):
    acme = make_company(name="Acme")
    ann = make_contact(email="ann@example.com")
    make_deal(name="A", owner_id=alice.id, company_id=acme.id)
    make_deal(name="B", owner_id=bob.id, stage_id=stages[1].id, contact_id=ann.id)
    lost = make_deal(name="C", owner_id=alice.id)
    api(alice).post(f"/deals/{lost.id}/close", json={"won": False, "lost_reason": "Budget"})

    def names(query):
        response = api(alice).get("/deals?" + query)
        assert response.status_code == 200, response.get_json()
        return sorted(d["name"] for d in response.get_json()["items"])

    assert names("") == ["A", "B", "C"]
    assert names("status=open") == ["A", "B"]
    assert names("status=lost") == ["C"]
    assert names(f"owner_id={alice.id}&status=open") == ["A"]
    assert names(f"stage_id={stages[1].id}") == ["B"]
    assert names(f"company_id={acme.id}") == ["A"]
    assert names(f"contact_id={ann.id}") == ["B"]
    assert names("q=acme") == ["A"]
    assert api(alice).get("/deals?status=pending").status_code == 422


def test_delete_deal_and_unknown_deal(api, alice, make_deal):
    deal_id = make_deal(owner_id=alice.id).id
    assert api(alice).delete(f"/deals/{deal_id}").status_code == 204
    for method, path in (("GET", f"/deals/{deal_id}"), ("GET", f"/deals/{deal_id}/history"),
                         ("DELETE", f"/deals/{deal_id}"), ("POST", f"/deals/{deal_id}/reopen")):
        assert api(alice).request(method, path).status_code == 404, (method, path)


def test_listing_10_or_1000_deals_costs_the_same_queries(api, alice, stages, families, count_queries):
    def add_deals(start, count):
        for n in range(start, start + count):
            deal = Deal(name=f"Deal {n:05d}", stage_id=stages[n % 4].id, owner_id=alice.id, status="open",
                        amount=Decimal("200.00"), expected_close=date(2026, 6, 1), created_at=NOW,
                        stage_entered_at=NOW)
            deal.lines = [DealLine(family_id=families[k].id, quantity=1, unit_price=Decimal("100.00"),
                                   amount=Decimal("100.00")) for k in range(2)]
            db.session.add(deal)
        db.session.commit()

    client = api(alice)
    client.get("/deals")  # first use of the token writes last_used_at: not what is measured
    add_deals(0, 10)
    with count_queries() as small:
        assert len(client.get("/deals?per_page=200").get_json()["items"]) == 10
    add_deals(10, 990)
    with count_queries() as large:
        body = client.get("/deals?per_page=200").get_json()
    assert body["total"] == 1000 and len(body["items"]) == 200
    assert all(len(d["lines"]) == 2 for d in body["items"])
    assert large.count == small.count
