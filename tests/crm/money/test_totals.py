"""Totals in the base currency: a USD deal and an MXN deal of one family and month give the
converted sum on the deal board and in the planning demand input; a currency without a rate is
a warning on the pages and a 409 in the API, never a raw sum."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm import public
from crm.deals import services as deals
from crm.extensions import db
from crm.money import services as money
from tests.conftest import NOW

CLOSE = (NOW + timedelta(days=75)).date()
MONTH = CLOSE.strftime("%Y-%m")
LATER = (CLOSE + timedelta(days=62)).strftime("%Y-%m")  # demand lands a lead time after the close
PLANNING = f"/api/v1/planning/demand-input?from={MONTH}&to={LATER}&probabilities=stage&family=PUMP"


def _revenue(body) -> tuple[Decimal, float, set]:
    rows = body["rows"]
    return (sum((Decimal(r["weighted_revenue"]) for r in rows), Decimal(0)),
            sum(r["weighted_units"] for r in rows), {r["currency"] for r in rows})


@pytest.fixture
def pesos_and_dollars(admin, make_deal, stages):
    """Base MXN; 1 USD = 17.25 MXN from a month ago; a USD and an MXN deal at Proposal (50 %)
    closing the same month, both PUMP."""
    money.set_base_currency(admin, "MXN")
    money.add_rate(admin, "USD", "17.25", NOW.date() - timedelta(days=30))
    money.add_rate(admin, "USD", "99", CLOSE + timedelta(days=40))  # after the month: not used
    db.session.commit()
    usd = make_deal(name="Dollars", currency="USD", stage_id=stages[2].id, expected_close=CLOSE,
                    lines=[{"family": "PUMP", "quantity": 10, "unit_price": "100.00"}])
    mxn = make_deal(name="Pesos", currency="MXN", stage_id=stages[2].id, expected_close=CLOSE,
                    lines=[{"family": "PUMP", "quantity": 10, "unit_price": "1000.00"}])
    return usd, mxn


def _column(stage_name):
    return next((count, total) for stage, _deals, count, total in deals.deal_board() if stage.name == stage_name)


def test_board_column_total_is_converted(pesos_and_dollars):
    count, total = _column("Proposal")
    assert count == 2
    assert total.base == "MXN"
    assert total.amount == Decimal("27250.00")  # 1,000 USD x 17.25 + 10,000 MXN
    assert total.foreign == {"USD": Decimal("1000.00")}
    assert total.complete


def test_board_page_shows_the_base_total_and_the_original(pesos_and_dollars, client, login, admin):
    login(client, admin)
    html = client.get("/deals/board").get_data(as_text=True)
    assert "MX$27,250" in html  # Babel en-US: the base total "MX$27,250"
    assert "includes" in html and "$1,000" in html
    assert "no exchange rate" not in html


def test_planning_revenue_is_the_converted_sum(pesos_and_dollars, client, api_token, pat):
    body = client.get(PLANNING, headers=api_token(pat)).get_json()
    # 50 % of 1,000 USD x 17.25 + 10,000 MXN, 50 % of 20 units, all in pesos
    assert _revenue(body) == (Decimal("13625.00"), 10, {"MXN"})


def test_the_boundary_hands_base_amounts_with_the_original_currency(pesos_and_dollars, admin):
    lines = {line.deal_id: line for line in public.pipeline_lines()}
    usd, mxn = pesos_and_dollars
    assert (lines[str(usd.id)].amount, lines[str(usd.id)].currency, lines[str(usd.id)].original_amount) == \
        (Decimal("17250.00"), "USD", Decimal("1000.00"))
    assert lines[str(mxn.id)].amount == Decimal("10000.00")
    cells = public.open_pipeline_cells()
    assert [(c.family, c.deals, c.amount) for c in cells] == [("PUMP", 2, Decimal("27250.00"))]
    columns = public.open_line_columns()
    assert sorted(columns.amount.tolist()) == [10000.0, 17250.0]
    # Won: converted at the close date's rate, not the expected month's.
    money.add_rate(admin, "USD", "20", NOW.date())
    deals.close_deal(admin, usd.id, won=True, now=NOW, closed_on=NOW.date())
    db.session.commit()
    assert [(w.family, w.amount) for w in public.won_line_totals()] == [("PUMP", Decimal("20000.00"))]
    assert public.missing_exchange_rates() == []


def test_a_currency_without_a_rate_is_a_warning_and_a_409(pesos_and_dollars, make_deal, stages, client, login,
                                                          admin, api_token, pat, app):
    make_deal(name="Yen", currency="JPY", stage_id=stages[2].id, expected_close=CLOSE,
              lines=[{"family": "PUMP", "quantity": 10, "unit_price": "50000.00"}])
    _count, total = _column("Proposal")
    assert total.amount == Decimal("27250.00")  # the yen are not added as pesos
    assert total.unconverted == {"JPY": Decimal("500000.00")}
    login(client, admin)
    board = client.get("/deals/board").get_data(as_text=True)
    assert "no exchange rate" in board and "¥500,000" in board

    refused = client.get(PLANNING, headers=api_token(pat))
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert "JPY" in error["message"] and error["fields"]["currency"] == "JPY"
    allowed = client.get(PLANNING + "&allow_missing_rates=true", headers=api_token(pat)).get_json()
    assert _revenue(allowed) == (Decimal("13625.00"), 15, {"MXN"})  # the yen's units count, not its money

    planner = app.test_client()
    login(planner, pat)
    page = planner.get(f"/planning/?from={MONTH}&to={LATER}").get_data(as_text=True)
    assert 'id="missing-rates"' in page and "JPY" in page
    gaps = public.missing_exchange_rates()
    assert [(g.currency, g.deals, g.amount) for g in gaps] == [("JPY", 1, Decimal("500000.00"))]


def test_deal_page_shows_the_original_and_the_converted_amount(pesos_and_dollars, client, login, admin,
                                                               make_deal, stages):
    usd, mxn = pesos_and_dollars
    login(client, admin)
    html = client.get(f"/deals/{usd.id}").get_data(as_text=True)
    assert "$1,000.00 USD" in html and "≈ MX$17,250.00" in html
    assert "€" not in html  # the timeline's "deal created" amount is in dollars too
    assert 'id="amount-in-base"' not in client.get(f"/deals/{mxn.id}").get_data(as_text=True)
    yen = make_deal(name="Yen", currency="JPY", stage_id=stages[2].id, expected_close=CLOSE)
    assert "no exchange rate into MXN" in client.get(f"/deals/{yen.id}").get_data(as_text=True)
    listing = client.get("/deals").get_data(as_text=True)
    assert "≈ MX$17,250.00" in listing and "no rate into MXN" in listing
