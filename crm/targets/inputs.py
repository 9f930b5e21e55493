"""Input models of the targets feature: the manager's allocation form and the targets query
(pages and API both feed them)."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from pydantic import Field, field_validator

from crm.i18n import _, _l
from crm.validation import InputModel

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
MAX_UNITS = Decimal("99999999999")  # Numeric(14, 3)
MAX_MONTHS = 24  # a query longer than two years is a mistake, not a plan horizon


def parse_month(value: Any) -> date:
    """``YYYY-MM`` as the month's first day (ValueError with the reason otherwise)."""
    match = MONTH_RE.match(str(value or "").strip())
    if not match:
        raise ValueError(_("a month as YYYY-MM"))
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or not 1900 <= year <= 9998:
        raise ValueError(_("a month as YYYY-MM (month 01-12, year 1900-9998)"))
    return date(year, month, 1)


def parse_units(value: Any) -> Decimal | None:
    """An allocation as typed: blank is no allocation; else units >= 0 with up to 3 decimals."""
    text = str(value if value is not None else "").strip()
    if text == "":
        return None
    try:
        units = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("a number of units")) from None
    if not units.is_finite() or units < 0:
        raise ValueError(_("zero or more units"))
    if units > MAX_UNITS:
        raise ValueError(_("at most %(max)s units", max=MAX_UNITS))
    if units != units.quantize(Decimal("0.001")):
        raise ValueError(_("at most three decimals"))
    return units


class AllocationInput(InputModel):
    """A manager's allocation of their team's target for one family and month: units per rep
    (reps left blank are not allocated: they share what is left by the usual rule)."""

    INVALID: ClassVar[Any] = _l("the allocation is not valid")

    family: str = Field(min_length=1, max_length=40)
    period: date
    units: dict[int, Decimal | None] = Field(default_factory=dict)

    @field_validator("period", mode="before")
    @classmethod
    def _month(cls, value: Any) -> date:
        return value if isinstance(value, date) else parse_month(value)

    @field_validator("units", mode="before")
    @classmethod
    def _units(cls, value: Any) -> dict[int, Decimal | None]:
        if not isinstance(value, dict):
            raise ValueError(_("units per rep"))
        parsed: dict[int, Decimal | None] = {}
        for key, raw in value.items():
            try:
                user_id = int(key)
            except (TypeError, ValueError):
                raise ValueError(_("%(key)s is not a user id", key=repr(key))) from None
            try:
                parsed[user_id] = parse_units(raw)
            except ValueError as exc:
                raise ValueError(_("user %(id)s: %(reason)s", id=user_id, reason=str(exc))) from None
        return parsed
