"""The records ``crm/public.py`` hands out, in their own module so the history replay
(``crm/public_history.py``) can build them without importing ``crm.public``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Family:
    code: str
    name: str
    unit: str
    lead_time_days: int
    is_active: bool = True


@dataclass(frozen=True)
class StageInfo:
    name: str
    position: int
    probability: Decimal  # the stage's default win probability
    is_active: bool = True


@dataclass(frozen=True)
class PipelineLine:
    """One product line of one open or closed deal. ``amount`` is in the base currency
    (converted at the deal's conversion day, ``crm.money.services.conversion_day``; 0 when its
    currency has no rate that day, which ``missing_exchange_rates()`` reports); the deal's own
    currency and amount are ``currency`` and ``original_amount``."""

    deal_id: str
    family: str
    quantity: float
    amount: Decimal
    stage: str
    stage_probability: Decimal
    created_on: date
    expected_close: date
    closed_on: date | None
    won: bool | None  # None while open
    currency: str = ""                      # the deal's own currency
    original_amount: Decimal | None = None  # the line's amount in it
