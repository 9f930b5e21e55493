"""The base currency, dated rates and conversions: services, API, CLI and the admin page."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest

from crm.errors import PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.money import services
from crm.money.services import MissingRate, RateBook, Total, conversion_day
from tests.conftest import NOW, csrf_from

TODAY = NOW.date()


def test_base_currency_defaults_to_eur_and_an_admin_changes_it(admin, make_user):
    assert services.base_currency() == "EUR"
    assert services.set_base_currency(admin, " mxn ") == "MXN"
    db.session.commit()
    assert services.base_currency() == "MXN"
    with pytest.raises(ValidationFailed) as bad:
        services.set_base_currency(admin, "XYZ")
    assert "currency" in bad.value.fields
    with pytest.raises(PermissionDenied):
        services.set_base_currency(make_user("rep"), "USD")


def test_rate_applies_from_its_day_until_the_next_one(admin):
    services.set_base_currency(admin, "MXN")
    services.add_rate(admin, "USD", "17.25", TODAY - timedelta(days=60))
    services.add_rate(admin, "USD", "18.10", TODAY)
    db.session.commit()
    assert services.rate_on("USD", TODAY - timedelta(days=1)) == Decimal("17.25")
    assert services.rate_on("USD", TODAY) == Decimal("18.10")
    assert services.rate_on("USD", TODAY + timedelta(days=400)) == Decimal("18.10")
    assert services.rate_on("MXN", TODAY) == 1
    assert services.to_base(Decimal("100.00"), "USD", TODAY) == Decimal("1810.00")
    with pytest.raises(MissingRate) as missing:
        services.to_base(Decimal("1"), "USD", TODAY - timedelta(days=61))
    assert missing.value.status == 409 and "USD" in missing.value.message
    with pytest.raises(MissingRate):
        services.rate_on("JPY", TODAY)


def test_the_same_day_again_replaces_the_rate_and_bad_rates_are_refused(admin):
    services.add_rate(admin, "USD", "0.90", TODAY)
    services.add_rate(admin, "usd", "0.95", TODAY)
    db.session.commit()
    assert services.list_rates().total == 1
    assert services.rate_on("USD", TODAY) == Decimal("0.95")
    for currency, rate, day, bad_field in (("EUR", "1", TODAY, "currency"), ("US", "1", TODAY, "currency"),
                                           ("USD", "0", TODAY, "rate"), ("USD", "-2", TODAY, "rate"),
                                           ("USD", "1.123456789", TODAY, "rate"), ("USD", "NaN", TODAY, "rate"),
                                           ("USD", "1", "2026-13-01", "valid_from")):
        with pytest.raises(ValidationFailed) as bad:
            services.add_rate(admin, currency, rate, day)
        assert bad_field in bad.value.fields


def test_rates_of_an_old_base_stop_applying(admin):
    services.add_rate(admin, "USD", "0.92", TODAY)
    services.set_base_currency(admin, "MXN")
    db.session.commit()
    with pytest.raises(MissingRate):
        services.rate_on("USD", TODAY)
    assert services.stale_rate_count() == 1


def test_conversion_day_is_the_close_date_or_the_end_of_the_expected_month():
    assert conversion_day("open", date(2026, 2, 3), None) == date(2026, 2, 28)
    assert conversion_day("won", date(2026, 2, 3), date(2026, 1, 15)) == date(2026, 1, 15)
    assert conversion_day("lost", date(2026, 2, 3), date(2026, 1, 9)) == date(2026, 1, 9)


def test_a_total_never_adds_an_amount_it_cannot_convert(admin):
    services.set_base_currency(admin, "MXN")
    services.add_rate(admin, "USD", "17.25", TODAY)
    db.session.commit()
    book, total = RateBook.load(), Total("MXN")
    total.add(book, Decimal("1000.00"), "MXN", TODAY)
    total.add(book, Decimal("100.00"), "USD", TODAY)
    total.add(book, Decimal("5000"), "JPY", TODAY)
    assert total.amount == Decimal("2725.00")
    assert total.foreign == {"JPY": Decimal("5000"), "USD": Decimal("100.00")}
    assert total.unconverted == {"JPY": Decimal("5000")}
    assert total.missing == {("JPY", TODAY)}
    with pytest.raises(MissingRate):
        total.require_complete()


def test_csv_import_is_all_or_nothing(admin):
    good = b"currency,rate,valid_from\nUSD,17.25,2026-01-01\nEUR;x\n"
    with pytest.raises(ValidationFailed) as bad:
        services.import_rates_csv(admin, good)
    assert "row 3" in bad.value.fields
    assert services.list_rates().total == 0
    count = services.import_rates_csv(admin, "\ufeffCurrency;Rate;Valid_from\nusd;17,25x;2026-01-01\n".encode()
                                      .replace(b"17,25x", b"17.25"))
    assert count == 1
    with pytest.raises(ValidationFailed):
        services.import_rates_csv(admin, b"currency,rate\nUSD,1\n")
    with pytest.raises(ValidationFailed):
        services.import_rates_csv(admin, b"\xff\xfe")


# --- API ------------------------------------------------------------------------------

def test_api_base_currency_and_rates(client, admin, make_user, api_token):
    headers, rep = api_token(admin), api_token(make_user("rep"))
    assert client.get("/api/v1/settings/base-currency", headers=rep).get_json()["currency"] == "EUR"
    assert client.put("/api/v1/settings/base-currency", json={"currency": "MXN"}, headers=rep).status_code == 403
    answer = client.put("/api/v1/settings/base-currency", json={"currency": "mxn"}, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["currency"] == "MXN"
    assert answer.get_json()["updated_by"]["name"] == "Ada Admin"
    bad = client.put("/api/v1/settings/base-currency", json={"currency": "ABC"}, headers=headers)
    assert bad.status_code == 422 and "currency" in bad.get_json()["error"]["fields"]

    created = client.post("/api/v1/exchange-rates", headers=headers,
                          json={"currency": "USD", "rate": "17.25", "valid_from": TODAY.isoformat()})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["rate"] == "17.25" and created.get_json()["base"] == "MXN"
    for body, field in (({"currency": "MXN", "rate": "1", "valid_from": TODAY.isoformat()}, "currency"),
                        ({"currency": "USD", "rate": "abc", "valid_from": TODAY.isoformat()}, "rate"),
                        ({"currency": "USD", "rate": "1", "valid_from": "2026-02-30"}, "valid_from"),
                        ({"currency": "USD", "rate": 17.25, "valid_from": TODAY.isoformat()}, "rate")):
        answer = client.post("/api/v1/exchange-rates", json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.get_json())
        assert any(field in key for key in answer.get_json()["error"]["fields"]), answer.get_json()
    listed = client.get("/api/v1/exchange-rates?currency=usd", headers=rep).get_json()
    assert listed["base"] == "MXN" and [r["rate"] for r in listed["items"]] == ["17.25"]
    assert client.get("/api/v1/exchange-rates?currency=zz", headers=rep).status_code == 422


# --- CLI ------------------------------------------------------------------------------

def test_cli_sets_the_base_and_rates(app, tmp_path):
    runner = app.test_cli_runner()
    assert "Base currency: MXN" in runner.invoke(args=["crm", "currency", "base", "MXN"]).output
    result = runner.invoke(args=["crm", "currency", "rate", "USD", "17.25", "--from", "2026-01-01"])
    assert result.exit_code == 0 and "1 USD = 17.25 MXN from 2026-01-01" in result.output
    bad = runner.invoke(args=["crm", "currency", "rate", "USD", "-1", "--from", "2026-01-01"])
    assert bad.exit_code != 0 and "rate" in bad.output
    csv_file = tmp_path / "rates.csv"
    csv_file.write_text("currency,rate,valid_from\nEUR,20.10,2026-01-01\n")
    assert "1 rate imported" in runner.invoke(args=["crm", "currency", "import", str(csv_file)]).output
    listing = runner.invoke(args=["crm", "currency", "list"]).output
    assert "EUR\t20.1" in listing and "USD\t17.25" in listing


# --- the page -------------------------------------------------------------------------

def test_admin_page_adds_rates_and_shows_errors(client, admin, login):
    login(client, admin)
    page = client.get("/admin/currencies")
    assert page.status_code == 200 and "No exchange rates yet" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    assert client.post("/admin/currencies/base", data={"csrf_token": token, "currency": "MXN"}).status_code == 302
    bad = client.post("/admin/currencies/rates", data={"csrf_token": token, "currency": "USD", "rate": "x",
                                                       "valid_from": TODAY.isoformat()})
    assert bad.status_code == 422 and "a positive number" in bad.get_data(as_text=True)
    assert client.post("/admin/currencies/rates", data={"csrf_token": token, "currency": "USD", "rate": "17.25",
                                                        "valid_from": TODAY.isoformat()}).status_code == 302
    page = client.get("/admin/currencies").get_data(as_text=True)
    assert "17.25" in page and "USD" in page
    rates_file = BytesIO(b"currency,rate,valid_from\nEUR,20.5,2026-01-01\n")
    upload = client.post("/admin/currencies/import", content_type="multipart/form-data",
                         data={"csrf_token": token, "file": (rates_file, "rates.csv")})
    assert upload.status_code == 302
    assert services.rate_on("EUR", TODAY) == Decimal("20.5")
    rate_id = services.list_rates(currency="EUR").items[0].id
    assert client.post(f"/admin/currencies/rates/{rate_id}/delete", data={"csrf_token": token}).status_code == 302
    assert services.list_rates(currency="EUR").total == 0
