"""The deal pages: board, list, deal page, create/edit with lines, stage moves, closing and
reopening, and what planners may (look) and may not (write) do."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.deals.models import Deal, DealChange
from crm.extensions import db
from tests.conftest import csrf_from


def csrf(client) -> str:
    return csrf_from(client.get("/account").get_data(as_text=True))


@pytest.fixture
def as_alice(client, alice, login):
    login(client, alice)
    return client


def fresh(deal_id: int) -> Deal:
    db.session.expire_all()
    return db.session.get(Deal, deal_id)


# --- board and list -----------------------------------------------------------------------

def test_board_shows_each_stage_with_count_total_and_cards(as_alice, alice, stages, make_deal, make_company):
    acme = make_company(name="Acme Pumps")
    make_deal(name="Big pump order", company_id=acme.id, owner_id=alice.id,
              lines=[{"family": "PUMP", "quantity": 10, "unit_price": "1500"}])
    make_deal(name="Valve refit", stage_id=stages[2].id,
              lines=[{"family": "VALVE", "quantity": 4, "unit_price": "250"}])
    html = as_alice.get("/deals/board").get_data(as_text=True)
    for stage in stages:
        assert stage.name in html
    assert "Big pump order" in html and "Acme Pumps" in html and "€15,000" in html
    assert "Valve refit" in html and "€1,000" in html
    assert "May 1, 2026" in html  # expected close on the card (en-US: CLDR medium)


def test_board_mine_shows_only_my_deals(as_alice, alice, bob, make_deal):
    make_deal(name="Alice deal", owner_id=alice.id)
    make_deal(name="Bob deal", owner_id=bob.id)
    html = as_alice.get("/deals/board?mine=1").get_data(as_text=True)
    assert "Alice deal" in html and "Bob deal" not in html


def test_board_without_stages_explains_what_is_missing(as_alice):
    assert "No pipeline stages yet" in as_alice.get("/deals/board").get_data(as_text=True)


def test_deal_list_filters_by_status_stage_owner_and_search(as_alice, alice, admin, stages, make_deal):
    from crm.deals.services import close_deal
    from tests.conftest import NOW

    make_deal(name="Open pumps", owner_id=alice.id)
    make_deal(name="Later stage", stage_id=stages[3].id)
    lost = make_deal(name="Lost valves")
    close_deal(admin, lost.id, won=False, now=NOW, lost_reason="price")
    db.session.commit()
    html = as_alice.get("/deals").get_data(as_text=True)
    assert "Open pumps" in html and "Later stage" in html and "Lost valves" not in html
    html = as_alice.get("/deals?status=lost").get_data(as_text=True)
    assert "Lost valves" in html and "Open pumps" not in html
    html = as_alice.get(f"/deals?stage={stages[3].id}").get_data(as_text=True)
    assert "Later stage" in html and "Open pumps" not in html
    html = as_alice.get("/deals?owner=me").get_data(as_text=True)
    assert "Open pumps" in html and "Later stage" not in html
    html = as_alice.get("/deals?status=all&q=valves").get_data(as_text=True)
    assert "Lost valves" in html and "Open pumps" not in html


def test_deal_list_sorts_by_amount(as_alice, make_deal):
    make_deal(name="Small", lines=[{"family": "PUMP", "quantity": 1, "unit_price": "10"}])
    make_deal(name="Large", lines=[{"family": "PUMP", "quantity": 1, "unit_price": "9000"}])
    html = as_alice.get("/deals?sort=amount").get_data(as_text=True)
    assert html.index(">Large<") < html.index(">Small<")
    html = as_alice.get("/deals?sort=name").get_data(as_text=True)
    assert html.index(">Large<") < html.index(">Small<")


# --- create and edit with lines -------------------------------------------------------------

def test_new_deal_form_works_without_javascript(as_alice, alice, stages, families, make_contact):
    contact = make_contact(email="buyer@initech.com")
    form = as_alice.get(f"/deals/new?contact_id={contact.id}").get_data(as_text=True)
    assert 'value="buyer@initech.com"' in form  # prefilled from the contact page link
    assert 'name="lines-2-family"' in form  # spare empty rows for browsers without JS
    assert "deal_lines.js" in form
    response = as_alice.post("/deals/new", data={
        "csrf_token": csrf_from(form), "name": "Initech pumps", "stage_id": str(stages[1].id),
        "expected_close": "2026-06-30", "contact_email": "BUYER@initech.com", "company_id": "",
        "owner_id": str(alice.id), "currency": "EUR",
        "lines-0-family": "PUMP", "lines-0-quantity": "3", "lines-0-unit_price": "1200.50",
        "lines-1-family": "", "lines-1-quantity": "", "lines-1-unit_price": "",
        "lines-2-family": "VALVE", "lines-2-quantity": "10", "lines-2-unit_price": "15",
    })
    assert response.status_code == 302
    deal = db.session.query(Deal).one()
    assert deal.contact_id == contact.id and deal.company_id == contact.company_id
    assert deal.amount == Decimal("3751.50")
    assert [(line.family.code, line.quantity) for line in deal.lines] == [("PUMP", 3), ("VALVE", 10)]
    assert deal.expected_close == date(2026, 6, 30)


def test_amounts_typed_with_thousands_separators_are_read_the_readers_way(as_alice, alice, stages, families):
    form = as_alice.get("/deals/new").get_data(as_text=True)
    response = as_alice.post("/deals/new", data={
        "csrf_token": csrf_from(form), "name": "Big pump order", "stage_id": str(stages[1].id),
        "expected_close": "2026-06-30", "contact_email": "", "company_id": "", "owner_id": str(alice.id),
        "currency": "MXN", "lines-0-family": "PUMP", "lines-0-quantity": "2", "lines-0-unit_price": "125,000.50",
    })
    assert response.status_code == 302
    deal = db.session.query(Deal).one()
    assert deal.lines[0].unit_price == Decimal("125000.50") and deal.amount == Decimal("250001.00")
    # Not a number the reader's way: refused on its row, nothing written.
    response = as_alice.post("/deals/new", data={
        "csrf_token": csrf_from(form), "name": "Typo", "stage_id": str(stages[1].id),
        "expected_close": "2026-06-30", "contact_email": "", "company_id": "", "owner_id": str(alice.id),
        "currency": "MXN", "lines-0-family": "PUMP", "lines-0-quantity": "2", "lines-0-unit_price": "12,5,0x",
    })
    assert response.status_code == 422 and db.session.query(Deal).count() == 1


def test_line_errors_appear_on_the_row_they_came_from(as_alice, stages, families):
    response = as_alice.post("/deals/new", data={
        "csrf_token": csrf(as_alice), "name": "", "stage_id": str(stages[0].id), "expected_close": "soon",
        "contact_email": "ghost@nowhere-inc.com",
        "lines-0-family": "PUMP", "lines-0-quantity": "2", "lines-0-unit_price": "10",
        "lines-1-family": "", "lines-1-quantity": "", "lines-1-unit_price": "",
        "lines-2-family": "PUMP", "lines-2-quantity": "-1", "lines-2-unit_price": "abc",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="name-error">1 to 200 characters' in html
    assert 'id="expected_close-error">a date YYYY-MM-DD' in html
    assert 'id="contact_email-error">no contact with this email' in html
    row_2 = html[html.index('name="lines-2-family"'):]
    assert "a number above 0" in row_2 and "an amount of 0 or more" in row_2
    assert "a number above 0" not in html[:html.index('name="lines-2-family"')]
    assert db.session.query(Deal).count() == 0


def test_edit_deal_replaces_lines_and_records_history(as_alice, alice, make_deal):
    deal = make_deal(owner_id=alice.id)
    form = as_alice.get(f"/deals/{deal.id}/edit").get_data(as_text=True)
    assert 'name="lines-0-family"' in form and 'value="10"' in form
    response = as_alice.post(f"/deals/{deal.id}/edit", data={
        "csrf_token": csrf_from(form), "name": deal.name, "stage_id": str(deal.stage_id),
        "expected_close": "2026-07-01", "owner_id": str(alice.id), "currency": "EUR",
        "lines-0-family": "PUMP", "lines-0-quantity": "20", "lines-0-unit_price": "100",
    })
    assert response.status_code == 302
    assert fresh(deal.id).amount == Decimal("2000.00")
    fields = {c.field for c in db.session.query(DealChange).filter_by(deal_id=deal.id, changed_by_id=alice.id)}
    assert fields == {"expected_close", "amount", "lines"}
    page = as_alice.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "PUMP × 20" in page  # history shows the new lines


# --- stage, close, reopen -----------------------------------------------------------------

def test_move_stage_from_the_deal_page(as_alice, alice, stages, make_deal):
    deal = make_deal(owner_id=alice.id)
    response = as_alice.post(f"/deals/{deal.id}/stage",
                             data={"csrf_token": csrf(as_alice), "stage_id": str(stages[2].id)})
    assert response.status_code == 302
    assert fresh(deal.id).stage_id == stages[2].id
    html = as_alice.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "moved this deal from Prospecting to Proposal" in html


def test_losing_a_deal_needs_a_reason(as_alice, alice, make_deal):
    deal = make_deal(owner_id=alice.id)
    response = as_alice.post(f"/deals/{deal.id}/close",
                             data={"csrf_token": csrf(as_alice), "outcome": "lost", "lost_reason": ""})
    assert response.status_code == 422
    assert 'id="lost_reason-error">required' in response.get_data(as_text=True)
    assert fresh(deal.id).status == "open"
    response = as_alice.post(f"/deals/{deal.id}/close", data={
        "csrf_token": csrf(as_alice), "outcome": "lost", "lost_reason": "Went with a competitor"})
    assert response.status_code == 302
    assert (fresh(deal.id).status, fresh(deal.id).lost_reason) == ("lost", "Went with a competitor")


def test_win_then_reopen(as_alice, alice, make_deal):
    deal = make_deal(owner_id=alice.id)
    token = csrf(as_alice)
    assert as_alice.post(f"/deals/{deal.id}/close", data={"csrf_token": token, "outcome": "won"}).status_code == 302
    assert fresh(deal.id).status == "won"
    page = as_alice.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Reopen deal" in page and "Deal won" in page
    again = as_alice.post(f"/deals/{deal.id}/close", data={"csrf_token": token, "outcome": "won"})
    assert again.status_code == 409 and "already closed" in again.get_data(as_text=True)
    assert as_alice.post(f"/deals/{deal.id}/reopen", data={"csrf_token": token}).status_code == 302
    assert fresh(deal.id).status == "open"


def test_delete_deal_after_confirmation(as_alice, alice, make_deal):
    deal_id = make_deal(owner_id=alice.id).id
    assert "Delete deal" in as_alice.get(f"/deals/{deal_id}/delete").get_data(as_text=True)
    assert as_alice.post(f"/deals/{deal_id}/delete", data={"csrf_token": csrf(as_alice)}).status_code == 302
    assert fresh(deal_id) is None


def test_deal_note_lands_on_the_deal_and_contact_timelines(as_alice, alice, make_deal, make_contact):
    contact = make_contact()
    deal = make_deal(owner_id=alice.id, contact_id=contact.id)
    response = as_alice.post(f"/deals/{deal.id}/notes",
                             data={"csrf_token": csrf(as_alice), "body": "Procurement wants 3 quotes"})
    assert response.status_code == 302
    assert "Procurement wants 3 quotes" in as_alice.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Procurement wants 3 quotes" in as_alice.get(f"/contacts/{contact.id}").get_data(as_text=True)


# --- who may do what ----------------------------------------------------------------------

def test_planner_reads_every_deal_page_but_writes_nothing(client, pat, login, stages, make_deal):
    deal = make_deal(name="Pipeline for planning")
    login(client, pat)
    for path in ("/deals/board", "/deals", f"/deals/{deal.id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Pipeline for planning" in response.get_data(as_text=True)
    page = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Close deal" not in page and f"/deals/{deal.id}/edit" not in page and "Add note" not in page
    token = csrf(client)
    assert client.get("/deals/new").status_code == 403
    assert client.get(f"/deals/{deal.id}/edit").status_code == 403
    for path, data in [(f"/deals/{deal.id}/stage", {"stage_id": str(stages[1].id)}),
                       (f"/deals/{deal.id}/close", {"outcome": "won"}),
                       (f"/deals/{deal.id}/reopen", {}), (f"/deals/{deal.id}/delete", {}),
                       (f"/deals/{deal.id}/notes", {"body": "hi"}), ("/deals/new", {"name": "x"})]:
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert fresh(deal.id).status == "open" and fresh(deal.id).stage_id == stages[0].id


def test_a_rep_cannot_change_a_colleagues_deal(client, charlie, alice, login, stages, make_deal):
    deal = make_deal(owner_id=alice.id)
    login(client, charlie)
    token = csrf(client)
    moved = client.post(f"/deals/{deal.id}/stage", data={"csrf_token": token, "stage_id": str(stages[1].id)})
    assert moved.status_code == 403
    assert client.post(f"/deals/{deal.id}/close", data={"csrf_token": token, "outcome": "won"}).status_code == 403
    assert "Close deal" not in client.get(f"/deals/{deal.id}").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/deals/new", "/deals/{id}/stage", "/deals/{id}/close", "/deals/{id}/reopen"])
def test_deal_posts_without_csrf_are_refused(as_alice, alice, make_deal, path):
    deal = make_deal(owner_id=alice.id)
    assert as_alice.post(path.format(id=deal.id), data={"outcome": "won", "name": "x"}).status_code == 400
    assert fresh(deal.id).status == "open"


def test_deal_name_is_escaped_everywhere(as_alice, make_deal):
    deal = make_deal(name="<script>alert(1)</script>")
    for path in ("/deals/board", "/deals", f"/deals/{deal.id}"):
        html = as_alice.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
