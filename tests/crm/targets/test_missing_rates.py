"""Won revenue is in the base currency; a won deal whose currency has no exchange rate on its
close date is left out of it, and the targets pages and API say so, naming the currencies and
how many deals (issue #17), as the deals board and the planning pages do."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.deals.services import close_deal
from crm.extensions import db
from crm.money.services import add_rate
from crm.targets.services import MissingRate, my_day_targets, team_targets, user_target_view
from tests.conftest import NOW
from tests.crm.api.conftest import ApiClient
from tests.crm.targets.conftest import THIS_MONTH, ym

CLOSED = NOW.date() - timedelta(days=1)


@pytest.fixture
def won_in(admin, make_deal, stages):
    """A deal of ``owner`` in ``currency`` (``units`` PUMP at 100) won yesterday."""
    def make(owner, units, currency):
        deal = make_deal(actor=owner, owner_id=owner.id, stage_id=stages[2].id, currency=currency,
                         expected_close=THIS_MONTH + timedelta(days=14),
                         lines=[{"family": "PUMP", "quantity": units, "unit_price": "100.00"}])
        close_deal(admin, deal.id, won=True, now=NOW, closed_on=CLOSED)
        db.session.commit()
        return deal
    return make


@pytest.fixture
def mixed_wins(feedback, alice, bob, won_in):
    """alice won 2 PUMP in EUR (the base), 3 in USD and 1 in JPY, neither with a rate; bob 4 in USD."""
    feedback.publish("PUMP", THIS_MONTH, 100, revenue="10000.00")
    won_in(alice, 2, "EUR")
    won_in(alice, 3, "USD")
    won_in(alice, 1, "JPY")
    won_in(bob, 4, "USD")


def test_won_revenue_leaves_out_deals_without_a_rate_and_says_which(alice, mixed_wins):
    view = user_target_view(alice, None, THIS_MONTH, THIS_MONTH, NOW)
    (row,) = view.rows
    assert row.won_units == Decimal(6)  # units always count
    assert row.won_revenue == Decimal("200.00")  # only the EUR deal: never USD or JPY as if they were EUR
    assert view.currency == "EUR"
    assert view.missing_rates == [MissingRate("JPY", 1, Decimal("100.00"), CLOSED, CLOSED),
                                  MissingRate("USD", 1, Decimal("300.00"), CLOSED, CLOSED)]


def test_a_rate_brings_the_deal_back_into_won_revenue(admin, alice, mixed_wins):
    add_rate(admin, "USD", "0.9", CLOSED - timedelta(days=30))
    db.session.commit()
    view = user_target_view(alice, None, THIS_MONTH, THIS_MONTH, NOW)
    assert view.rows[0].won_revenue == Decimal("470.00")  # 200 EUR + 300 USD x 0.9
    assert [m.currency for m in view.missing_rates] == ["JPY"]


def test_the_team_and_my_day_carry_what_is_left_out(alice, mallory, mixed_wins):
    team = team_targets(mallory, None, [THIS_MONTH], NOW)
    assert [(m.currency, m.deals, m.amount) for m in team.missing_rates] == [
        ("JPY", 1, Decimal("100.00")), ("USD", 2, Decimal("700.00"))]  # alice's and bob's
    assert team.currency == "EUR"
    mine = my_day_targets(alice, NOW)
    assert [(m.currency, m.deals) for m in mine.missing_rates] == [("JPY", 1), ("USD", 1)]


def test_the_pages_warn_naming_the_currencies_and_the_deals(client, login, alice, mallory, mixed_wins):
    login(client, mallory)
    team = client.get("/targets/team").get_data(as_text=True)
    assert 'id="targets-missing-rates"' in team
    warning = team.split('id="targets-missing-rates"')[1].split("</div>")[0]
    assert "Won revenue in EUR leaves out 3 won deals whose currency has no exchange rate" in warning
    assert 'data-currency="USD"' in warning and "(2 deals)" in warning and "(1 deal)" in warning
    assert "€" not in team.split('id="team-total"')[0].split("targets-missing-rates")[0]
    client.get("/logout")
    other = client.application.test_client()
    alice.language = "es"
    db.session.commit()
    login(other, alice)
    day = other.get("/calls").get_data(as_text=True)
    warning = day.split('id="targets-missing-rates"')[1].split("</div>")[0]
    assert "Los ingresos ganados en EUR dejan fuera 2 negocios ganados" in warning
    assert "(1 negocio)" in warning and 'data-currency="JPY"' in warning


def test_no_warning_when_every_won_deal_converts(client, login, feedback, alice, mallory, won_in):
    feedback.publish("PUMP", THIS_MONTH, 100, revenue="10000.00")
    won_in(alice, 2, "EUR")
    login(client, mallory)
    assert 'id="targets-missing-rates"' not in client.get("/targets/team").get_data(as_text=True)
    assert user_target_view(alice, None, THIS_MONTH, THIS_MONTH, NOW).missing_rates == []


def test_the_api_lists_the_missing_rates(client, api_token, alice, mixed_wins):
    body = ApiClient(client, api_token(alice)).get(f"/targets?from={ym(THIS_MONTH)}&to={ym(THIS_MONTH)}").get_json()
    assert body["currency"] == "EUR"
    assert body["items"][0]["won_revenue"] == "200.00" and Decimal(body["items"][0]["won_units"]) == 6
    assert body["missing_rates"] == [
        {"currency": "JPY", "deals": 1, "amount": "100.00", "first_day": CLOSED.isoformat(),
         "last_day": CLOSED.isoformat()},
        {"currency": "USD", "deals": 1, "amount": "300.00", "first_day": CLOSED.isoformat(),
         "last_day": CLOSED.isoformat()}]


def test_the_openapi_documents_missing_rates(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = spec["components"]["schemas"]["TargetList"]
    assert "missing_rates" in schema["properties"] and "currency" in schema["properties"]
    assert "exchange rate" in schema["properties"]["missing_rates"]["description"]
