"""Local formats through Babel/CLDR (issue #17): the same values read the Mexican, US and
Spanish way, and numbers typed the reader's way are understood."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from crm.web.formatting import (
    format_clock,
    format_day,
    format_money,
    format_number,
    format_when,
    locale_for,
    parse_decimal,
)

INSTANT = datetime(2026, 12, 7, 15, 4, tzinfo=timezone.utc)


def test_money_in_mexican_spanish_us_english_and_spain():
    assert format_money(Decimal("2500000"), "MXN", locale="es-MX") == "$2,500,000.00 MXN"
    assert format_money(Decimal("2500000"), "MXN", locale="en") == "MX$2,500,000.00"
    assert format_money(Decimal("1234.5"), "EUR", locale="es-ES") == "1.234,50 €"
    assert format_money(Decimal("1234.5"), "USD", locale="en") == "$1,234.50 USD"  # which dollar, said
    assert format_money(Decimal("1234.5"), "USD", locale="es") == "USD 1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", cents=False, locale="en") == "€1,234"
    assert format_money(None, "EUR") == ""


def test_numbers_follow_the_locale():
    assert format_number(Decimal("1234567.5"), locale="es-MX") == "1,234,567.5"
    assert format_number(Decimal("1234567.5"), locale="es-ES") == "1.234.567,5"
    assert format_number(1234.5, 2, locale="en") == "1,234.50"


def test_dates_read_as_people_write_them():
    day = date(2026, 12, 7)
    assert format_day(day, "full", locale="es") == "lunes, 7 de diciembre de 2026"
    assert format_day(day, "full", locale="en") == "Monday, December 7, 2026"
    assert format_day(day, "medium", locale="es") == "7 dic 2026"
    assert format_day(day, "medium", locale="en") == "Dec 7, 2026"
    assert format_day(day, "month", locale="es") == "diciembre de 2026"
    assert format_day("2026-12-07", "medium", locale="en") == "Dec 7, 2026"  # ISO as in deal history


def test_times_in_the_given_zone_with_the_zone_named():
    assert format_clock(INSTANT, "America/Monterrey", show_zone=True, locale="es") == "9:04 a.m. CST"
    assert format_clock(INSTANT, "America/Monterrey", locale="en") == "9:04 AM"
    assert format_when(INSTANT, "full", zone="America/Tijuana", show_zone=True, locale="es") == \
        "lunes, 7 de diciembre de 2026, 7:04 a.m. PST"
    assert format_when(INSTANT, zone="Europe/Madrid", locale="es-ES") == "7 dic 2026, 16:04"


@pytest.mark.parametrize(("typed", "locale", "value"), [
    ("125,000.50", "en", "125000.50"),
    ("125,000.50", "es", "125000.50"),      # Mexican Spanish groups with commas
    ("125.000,50", "es-ES", "125000.50"),   # Spain with dots
    ("125000.50", "es-ES", "125000.50"),    # the plain form a form was filled with
    ("1,5", "es-ES", "1.5"),
    ("-3", "en", "-3"),
])
def test_numbers_typed_the_readers_way_are_understood(typed, locale, value):
    assert parse_decimal(typed, locale) == Decimal(value)


@pytest.mark.parametrize(("typed", "locale"), [
    ("125.000,50", "en"), ("125,000.50", "es-ES"), ("abc", "en"), ("NaN", "en"), ("1e5", "en"),
    ("Infinity", "es"), ("", "en"), ("1,2,3.4.5", "en"),
])
def test_anything_else_is_refused(typed, locale):
    with pytest.raises(ValueError):
        parse_decimal(typed, locale)


def test_a_bare_language_reads_with_its_home_territory():
    assert str(locale_for("es")) == "es_MX" and str(locale_for("en")) == "en_US"
    assert str(locale_for("es-ES")) == "es_ES" and str(locale_for("xx")) == "en_US"
