"""Demo data of the money feature: the demo company is Mexican, so its base currency is MXN,
with a rate for each month of its history for the currencies its foreign customers buy in
(USD, EUR). Rates follow a smooth made-up path around real-world levels (no random numbers:
the same rows every time)."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

from crm.extensions import db
from crm.money import services

BASE_CURRENCY = "MXN"
# The demo's two years of deals, and companies created up to 18 months before: rates cover
# every day a demo amount converts at.
RATES_SINCE = timedelta(days=2 * 365 + 560)
# Pesos per unit at the start of the history, and how far the path swings.
STARTING_RATES = {"USD": (17.2, 1.1), "EUR": (18.9, 1.3)}


def monthly_rates(first: date, last: date) -> list[tuple[str, date, Decimal]]:
    """(currency, first day of the month, rate) for every month from ``first`` to ``last``."""
    rates = []
    month, index = first.replace(day=1), 0
    while month <= last:
        for currency, (level, swing) in STARTING_RATES.items():
            value = level + swing * math.sin(index / 5.0) + 0.03 * index
            rates.append((currency, month, Decimal(f"{value:.4f}")))
        month, index = (month + timedelta(days=32)).replace(day=1), index + 1
    return rates


def seed(actors, today: date, now: datetime) -> dict[str, int]:
    admin = actors["admin"]
    services.set_base_currency(admin, BASE_CURRENCY)
    rates = monthly_rates(today - RATES_SINCE, today)
    for currency, month, rate in rates:
        entry = services.add_rate(admin, currency, rate, month)
        entry.created_at = now
    settings = services.company_settings()
    if settings is not None:
        settings.updated_at = now
    db.session.flush()
    return {"exchange rates": len(rates)}
