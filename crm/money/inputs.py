"""Request bodies of the money API: shapes only; the rules (a known ISO code, a positive rate
with at most 8 decimals, not the base) are the services' and answer 422 on the field."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema, field_validator

from crm.api.schemas import QueryModel, StrictModel
from crm.money import services

CurrencyCode = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$",
                                    description="ISO 4217 code", examples=["MXN"])]


class BaseCurrencyIn(StrictModel):
    currency: CurrencyCode

    @field_validator("currency", mode="after")
    @classmethod
    def _known(cls, value: str) -> str:
        return services.clean_currency(value)


RateText = Annotated[
    str, Field(min_length=1, max_length=32),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,8})?$", "examples": ["17.25"],
                    "description": "1 unit of `currency` = this many units of the base currency"}),
]


class RateIn(StrictModel):
    """"1 ``currency`` = ``rate`` base currency, from ``valid_from`` on". The same currency and
    day again replaces the rate."""

    currency: CurrencyCode
    rate: RateText
    valid_from: Annotated[str, Field(min_length=10, max_length=10, description="YYYY-MM-DD",
                                     json_schema_extra={"format": "date"})]

    @field_validator("currency", mode="after")
    @classmethod
    def _known(cls, value: str) -> str:
        return services.clean_currency(value)

    @field_validator("rate", mode="after")
    @classmethod
    def _rate(cls, value: str) -> str:
        return str(services.clean_rate(value))

    @field_validator("valid_from", mode="after")
    @classmethod
    def _day(cls, value: Any) -> str:
        return services.clean_day(value).isoformat()


class RateQuery(QueryModel):
    currency: str | None = Field(default=None, max_length=3, description="only this currency's rates")

    @field_validator("currency", mode="after")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        return None if value in (None, "") else services.clean_currency(value)

