"""From a demand number to the deal lines behind it: deal, stage, probability, quantity,
weighted units, amount, owner; never the contact's email or phone."""
from __future__ import annotations

import re

import pytest

from tests.planning_bridge.pages_helpers import FUTURE


@pytest.fixture
def deal_with_contact(make_deal, make_contact, stages, alice):
    contact = make_contact(email="wile.coyote@acme-corp.com", phone="+1 415 555 0199",
                           first_name="Wile", last_name="Coyote")
    return make_deal(name="Rockets for Acme", stage_id=stages[2].id, expected_close=FUTURE,
                     contact_id=contact.id, owner_id=alice.id,
                     lines=[{"family": "PUMP", "quantity": 10, "unit_price": "100.00"}])


def test_drill_down_lists_the_deals_and_no_contact_details(client, login, pat, deal_with_contact, alice):
    login(client, pat)
    demand = client.get("/planning/", query_string={"from": "2030-01", "to": "2030-03", "probabilities": "stage"})
    link = re.search(r'href="(/planning/demand/PUMP/2030-02[^"]*)"', demand.get_data(as_text=True))
    assert link, "the Feb 2030 PUMP number links to its deals"
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Rockets for Acme" in html
    assert "Proposal" in html
    assert "50 %" in html  # the stage probability
    assert "Alice Rep" in html
    assert ">5<" in html  # weighted units: 10 x 50 %
    assert f'href="/deals/{deal_with_contact.id}"' in html
    assert "wile.coyote" not in html and "acme-corp.com" not in html
    assert "555" not in html


def test_drill_down_of_an_empty_month_says_so(client, login, pat, families):
    login(client, pat)
    response = client.get("/planning/demand/PUMP/2030-02?probabilities=stage")
    assert response.status_code == 200
    assert "No open deal lines in this month" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/planning/demand/NOSUCH/2030-02", "/planning/demand/PUMP/2030-13",
                                  "/planning/demand/PUMP/soon"])
def test_unknown_family_or_month_is_not_found(client, login, pat, families, path):
    login(client, pat)
    assert client.get(path).status_code == 404


def test_closed_deals_are_not_behind_any_number(client, login, pat, make_deal, stages, admin):
    from crm.deals.services import close_deal
    from crm.extensions import db
    from tests.conftest import NOW

    deal = make_deal(name="Already won", stage_id=stages[3].id, expected_close=FUTURE)
    close_deal(admin, deal.id, won=True, now=NOW)
    db.session.commit()
    login(client, pat)
    html = client.get("/planning/demand/PUMP/2030-02?probabilities=stage").get_data(as_text=True)
    assert "Already won" not in html


def test_deal_names_are_escaped(client, login, pat, make_deal, stages):
    make_deal(name="<script>alert(1)</script> pumps", stage_id=stages[2].id, expected_close=FUTURE)
    login(client, pat)
    html = client.get("/planning/demand/PUMP/2030-02?probabilities=stage").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; pumps" in html
    assert "<script>alert(1)" not in html
