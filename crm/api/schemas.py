"""Shared pydantic building blocks for the API: strict input types with the limits of the
columns behind them, output types that serialise money as strings and times as UTC with an
offset, the page envelope and the error body.

Input limits live here (not only in the services) because the database must never be the
one to refuse a value: PostgreSQL rejects NUL characters and out-of-range numbers with an
exception that would otherwise surface as a 500.
"""
from __future__ import annotations

import math
import re
import types
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    create_model,
    model_validator,
)

from crm.i18n import _
from crm.timeutil import is_valid_timezone
from crm.validation import MAX_URL, check_web_url
from crm.web.pagination import Page

MAX_PER_PAGE = 200
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_ID = 2**31 - 1  # INTEGER keys: no row has a larger id, and past 2**63 SQLite cannot bind it
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
CENT = Decimal("0.01")
_FORBIDDEN_CHARS = {chr(c) for c in range(32)} - {"\t", "\n", "\r"}


# --- input types ------------------------------------------------------------------------

def _no_control_chars(value: str) -> str:
    if any(char in _FORBIDDEN_CHARS for char in value):
        raise ValueError(_("must not contain control characters"))
    return value


def Text(max_length: int, min_length: int = 0):  # noqa: N802  (reads as a type in models)
    """A string of at most ``max_length`` characters without control characters."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_control_chars)
    ]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _time_zone(value: str) -> str:
    if not is_valid_timezone(value):
        raise ValueError(_("not a known time zone: an IANA name such as Europe/Berlin, or UTC"))
    return value


def _web_url(value: str) -> str:
    return check_web_url(value)  # ValueError -> 422 with the reason on the field


# The one check each (crm.timeutil / crm.validation) as field types, so a bad zone or address
# is a 422 on its field before any service runs.
TimeZoneName = Annotated[
    str, Field(min_length=1, max_length=64, examples=["Europe/Berlin"]), AfterValidator(_time_zone)
]
WebUrl = Annotated[
    str, Field(min_length=1, max_length=MAX_URL, examples=["https://meet.example.com/abc"]),
    AfterValidator(_web_url),
]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(_("must be a finite number"))
    return value


def _custom_value(value: Any) -> Any:
    """A custom field value is a JSON scalar; its type is checked against the field's
    definition by ``crm.contacts.custom_fields``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > 10**15:
            raise ValueError(_("number out of range"))
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > 1e15:
            raise ValueError(_("number out of range"))
        return value
    if isinstance(value, str):
        if len(value) > 1000:
            raise ValueError(_("at most %(max)s characters", max=1000))
        return _no_control_chars(value)
    raise ValueError(_("must be a string, number, boolean or null"))


CustomKey = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(_no_control_chars)]
CustomValue = Annotated[
    Any,
    AfterValidator(_custom_value),
    WithJsonSchema({"type": ["string", "number", "boolean", "null"]}),
]
CustomValues = Annotated[
    dict[CustomKey, CustomValue],
    Field(max_length=100, description="custom field values keyed by field key"),
]

MoneyIn = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("9999999999.99"), decimal_places=2),
    WithJsonSchema(
        {"type": ["string", "number"], "pattern": r"^\d+(\.\d{1,2})?$",
         "description": "an amount with at most 2 decimals; send it as a string"},
        mode="validation",
    ),
]
Quantity = Annotated[float, Field(gt=0, le=1e9), AfterValidator(_finite)]


class StrictModel(BaseModel):
    """Request bodies: unknown fields and wrong types are refused, nothing is coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _is_plain_date(annotation: Any) -> bool:
    """``date`` or ``date | None`` (not a datetime, not an annotated date with its own parsing)."""
    if annotation is date:
        return True
    return get_origin(annotation) in (Union, types.UnionType) and date in get_args(annotation)


class QueryModel(BaseModel):
    """Query strings: every value arrives as text, so numbers are parsed, unknown keys refused."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=1_000_000)

    @model_validator(mode="before")
    @classmethod
    def _dates_as_documented(cls, data: Any) -> Any:
        """A date in a query is ``YYYY-MM-DD`` as documented: pydantic's lax mode would read
        ``0`` or ``1e9`` as a Unix timestamp. Anything else is handed on marked, so the
        field's own error (422 naming it) reports it."""
        if not isinstance(data, dict):
            return data
        for name, field in cls.model_fields.items():
            key = field.alias or name
            value = data.get(key)
            if isinstance(value, str) and _is_plain_date(field.annotation) and not ISO_DATE.fullmatch(value):
                data = {**data, key: f"not a date: {value}"}
        return data
    per_page: int = Field(50, ge=1, le=MAX_PER_PAGE)


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def patch_model(
    model: type[BaseModel], name: str, base: type[BaseModel] | None = None
) -> type[BaseModel]:
    """A PATCH body from a create body: every field optional, but an explicit ``null`` is
    accepted only where the create body accepts it. Callers read ``model_dump(exclude_unset=True)``.
    Field validators travel with the field types; model validators come from ``base``."""
    fields = {}
    for key, info in model.model_fields.items():
        annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[key] = (
            annotation,
            Field(None, description=info.description, json_schema_extra=_drop_default),
        )
    patch = create_model(name, __base__=base or StrictModel, **fields)
    patch.__doc__ = f"Partial update: only the fields sent are changed. {model.__doc__ or ''}".strip()
    return patch


# --- output types -----------------------------------------------------------------------

def _utc_iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(_utc_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: str(Decimal(value).quantize(CENT)), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$"}, mode="serialization"),
]


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserRef(OutModel):
    id: int
    name: str


class CompanyRef(OutModel):
    """A company as other records' schemas name it (a contact's, a deal's account)."""

    id: int
    name: str


T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int
    pages: int


def page_out(envelope: type[PageOut], page: Page, convert) -> PageOut:
    """The page envelope with each item converted by ``convert``."""
    return envelope(
        items=[convert(item) for item in page.items],
        page=page.page, per_page=page.per_page, total=page.total, pages=page.pages,
    )


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable: validation_failed, not_found, conflict...")
    message: str
    fields: dict[str, str] = Field(description="bad field (dotted path) -> reason")


class ErrorOut(BaseModel):
    error: ErrorBody
