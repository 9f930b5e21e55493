"""Input models for the deal and catalogue writes: the one validation every caller goes through.

A deal page's WTForms form, the API's body (``model_dump(exclude_unset=True)``), a CSV row (the
importer) and the demo seeder all hand a dict to the services, which parse it here. A create
model checks its required fields even when they are absent; an update model checks only the
fields sent. Every problem is reported at once, per field, as ``ValidationFailed(fields=...)``
with the field names and messages the pages, the API and the importer have always shown
(pydantic's errors are mapped by ``crm.validation.field_errors``, the same mapping
contacts use); a line's problems are named ``lines.<n>.<field>``.

Values come back as records where the service needs records (``DealUpdate.stage_id`` is the
``Stage``, a line's ``family`` the ``ProductFamily``), so nothing is looked up twice.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import select

from crm.auth.services import sales_user_id
from crm.contacts.models import Company, Contact
from crm.deals.models import ProductFamily, Stage
from crm.extensions import db
from crm.i18n import _, _l
from crm.money.services import clean_currency
from crm.validation import MAX_MONEY, MAX_QUANTITY, InputModel, get_by_id, has_control_chars

CENT = Decimal("0.01")
FAMILY_TEXT_FIELDS = {"code": 40, "name": 200, "unit": 20}


class _FamilyLookup:
    """The product families by code, read once per parse however many lines name them."""

    def __init__(self) -> None:
        self._by_code: dict[str, ProductFamily] | None = None

    def get(self, code: str) -> ProductFamily | None:
        if self._by_code is None:
            self._by_code = {family.code: family for family in db.session.scalars(select(ProductFamily))}
        return self._by_code.get(code)


class _Input(InputModel):
    """Deals' inputs read product families by code once per parse, however many lines name them."""

    @classmethod
    def parse(cls, data: dict[str, Any], **context: Any) -> Self:
        return super().parse(data, families=_FamilyLookup(), **context)


# --- deals ---------------------------------------------------------------------------------------

class DealLineInput(_Input):
    """One product line: a known family, a quantity above 0 and a unit price of 0 or more."""

    family: ProductFamily = Field(None, validate_default=True)
    quantity: float = Field(None, validate_default=True)
    unit_price: Decimal = Field(None, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _object(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(_("an object with family, quantity and unit_price"))
        return data

    @field_validator("family", mode="plain")
    @classmethod
    def _family(cls, value: Any, info: ValidationInfo) -> ProductFamily:
        families = (info.context or {}).get("families") or _FamilyLookup()
        family = families.get("" if value is None else str(value))
        if family is None:
            raise ValueError(_("unknown product family"))
        return family

    @field_validator("quantity", mode="plain")
    @classmethod
    def _quantity(cls, value: Any) -> float:
        try:
            quantity = float(value)
        except (TypeError, ValueError, OverflowError):
            quantity = 0.0
        if not 0 < quantity < MAX_QUANTITY:  # also refuses NaN and infinities
            raise ValueError(_("a number above 0"))
        return quantity

    @field_validator("unit_price", mode="plain")
    @classmethod
    def _unit_price(cls, value: Any) -> Decimal:
        try:
            price = Decimal(str(value))
        except (InvalidOperation, TypeError, ValueError):
            price = Decimal(-1)
        if not price.is_finite() or not 0 <= price < MAX_MONEY:
            raise ValueError(_("an amount of 0 or more"))
        return price.quantize(CENT)

    @property
    def amount(self) -> Decimal:
        return (Decimal(str(self.quantity)) * self.unit_price).quantize(CENT)


class DealUpdate(_Input):
    """A change to a deal: only the fields sent are checked and changed. ``lines`` replaces
    all the deal's lines."""

    INVALID: ClassVar[Any] = _l("invalid deal")

    name: str | None = None
    stage_id: Stage | None = None  # the ``Stage`` itself, validated from its id
    expected_close: date | None = None
    company_id: int | None = None
    contact_id: int | None = None
    owner_id: int | None = None
    lines: list[DealLineInput] | None = None
    currency: str | None = None
    source: str | None = None

    @field_validator("name", mode="plain")
    @classmethod
    def _name(cls, value: Any) -> str:
        name = str(value or "").strip()
        if not name or len(name) > 200:
            raise ValueError(_("1 to 200 characters"))
        if has_control_chars(name):
            raise ValueError(_("contains control characters"))
        return name

    @field_validator("stage_id", mode="plain")
    @classmethod
    def _stage(cls, value: Any) -> Stage:
        stage = get_by_id(Stage, value) if value not in (None, "") else None
        if stage is None:
            raise ValueError(_("unknown pipeline stage"))
        return stage

    @field_validator("expected_close", mode="plain")
    @classmethod
    def _expected_close(cls, value: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except (TypeError, ValueError):
            raise ValueError(_("a date YYYY-MM-DD")) from None

    @field_validator("company_id", "contact_id", mode="plain")
    @classmethod
    def _record(cls, value: Any, info: ValidationInfo) -> int | None:
        if value in (None, ""):
            return None
        record = get_by_id(Company if info.field_name == "company_id" else Contact, value)
        if record is None:
            raise ValueError(_("not found"))
        return record.id

    @field_validator("owner_id", mode="plain")
    @classmethod
    def _owner(cls, value: Any) -> int | None:
        return sales_user_id(value)

    @field_validator("lines", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ValueError(_("a list of lines"))
        return value

    @field_validator("currency", mode="plain")
    @classmethod
    def _currency(cls, value: Any) -> str:
        return clean_currency(value)  # a code CLDR knows: "XYZ" would never find a rate

    @field_validator("source", mode="plain")
    @classmethod
    def _source(cls, value: Any) -> str | None:
        return str(value or "").strip() or None


class DealCreate(DealUpdate):
    """A new deal: a name, a stage and an expected close are required; no lines is an empty list."""

    name: str = Field(None, validate_default=True)
    stage_id: Stage = Field(None, validate_default=True)
    expected_close: date = Field(None, validate_default=True)
    lines: list[DealLineInput] = Field(default_factory=list, validate_default=True)


def deal_input(data: dict[str, Any], *, partial: bool) -> DealUpdate:
    """Deal input (a form, the API, a CSV row) validated (``partial``: an update).

    :raises ValidationFailed: with every bad field at once
    """
    return (DealUpdate if partial else DealCreate).parse(data)


# --- the catalogue -------------------------------------------------------------------------------

class FamilyUpdate(_Input):
    """A change to a product family: only the fields sent are checked and changed."""

    INVALID: ClassVar[Any] = _l("invalid product family")

    code: str | None = None
    name: str | None = None
    unit: str | None = None
    lead_time_days: int | None = None
    is_active: bool | None = None

    @field_validator(*FAMILY_TEXT_FIELDS, mode="plain")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> str:
        text, limit = str(value or "").strip(), FAMILY_TEXT_FIELDS[info.field_name or ""]
        if not text:
            raise ValueError(_("required"))
        if len(text) > limit:
            raise ValueError(_("at most %(max)s characters", max=limit))
        if has_control_chars(text):
            raise ValueError(_("contains control characters"))
        return text

    @field_validator("lead_time_days", mode="plain")
    @classmethod
    def _lead_time(cls, value: Any) -> int:
        try:
            days = int(value)
        except (TypeError, ValueError, OverflowError):
            days = -1
        if not 0 <= days <= 3650:
            raise ValueError(_("whole days between 0 and 3650"))
        return days

    @field_validator("is_active", mode="plain")
    @classmethod
    def _active(cls, value: Any) -> bool:
        return bool(value)


class FamilyCreate(FamilyUpdate):
    """A new product family: a code and a name are required (the unit has its default)."""

    code: str = Field(None, validate_default=True)
    name: str = Field(None, validate_default=True)


class StageInput(_Input):
    """A pipeline stage as saved (created or changed): a name, a win probability from 0 to 1
    and, optionally, a position."""

    INVALID: ClassVar[Any] = _l("invalid stage")

    name: str = Field(None, validate_default=True)
    probability: Decimal = Field(None, validate_default=True)
    position: int | None = None

    @field_validator("name", mode="plain")
    @classmethod
    def _name(cls, value: Any) -> str:
        name = str(value or "").strip()
        if not name or len(name) > 60 or has_control_chars(name):
            raise ValueError(_("1 to 60 characters, no control characters"))
        return name

    @field_validator("probability", mode="plain")
    @classmethod
    def _probability(cls, value: Any) -> Decimal:
        try:
            probability = Decimal(str(value))
        except (InvalidOperation, TypeError):
            probability = Decimal("NaN")
        if not probability.is_finite() or not Decimal(0) <= probability <= Decimal(1):
            raise ValueError(_("a number between 0 and 1"))
        return probability.quantize(Decimal("0.001"))

    @field_validator("position", mode="plain")
    @classmethod
    def _position(cls, value: Any) -> int | None:
        if value is None:
            return None
        try:
            position = int(value)
        except (TypeError, ValueError, OverflowError):
            position = -1
        if not 0 <= position <= 10_000:
            raise ValueError(_("a whole number between 0 and 10,000"))
        return position
