"""JSON API of the money feature: the base currency and exchange rates (``routes``, mounted on
/api/v1 from the manifest). Reading is for every signed-in role; changing is for admins."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint
from crm.api.routing import ApiRoutes
from crm.api.schemas import PageOut, UserRef, UtcDateTime, page_out
from crm.auth.models import User
from crm.extensions import db
from crm.money import services
from crm.money.inputs import BaseCurrencyIn, RateIn, RateQuery
from crm.web.access import EVERYONE, roles

routes = ApiRoutes()


class BaseCurrencyOut(BaseModel):
    currency: str = Field(description="ISO 4217 code every total is in")
    updated_at: UtcDateTime | None = None
    updated_by: UserRef | None = None


class RateOut(BaseModel):
    id: int
    currency: str
    base: str
    rate: str = Field(description="1 `currency` = `rate` base, from `valid_from` on")
    valid_from: date
    created_at: UtcDateTime
    created_by: UserRef | None = None


class RatePage(PageOut[RateOut]):
    base: str


def _settings_out() -> BaseCurrencyOut:
    settings = services.company_settings()
    if settings is None:
        return BaseCurrencyOut(currency=services.base_currency())
    who = db.session.get(User, settings.updated_by_id) if settings.updated_by_id else None
    return BaseCurrencyOut(currency=settings.base_currency, updated_at=settings.updated_at,
                           updated_by=UserRef(id=who.id, name=who.name) if who else None)


def _rate_out(rate) -> RateOut:
    who = rate.created_by
    return RateOut(id=rate.id, currency=rate.currency, base=rate.base, rate=_plain(rate.rate),
                   valid_from=rate.valid_from, created_at=rate.created_at,
                   created_by=UserRef(id=who.id, name=who.name) if who else None)


def _plain(rate: Decimal) -> str:
    """"17.25", not "17.25000000"."""
    return format(Decimal(rate).normalize(), "f")


@routes.get("/settings/base-currency")
@roles(*EVERYONE)
@endpoint("The company's base currency (every total, report and planning figure is in it)",
          response=BaseCurrencyOut)
def get_base_currency():
    return _settings_out()


@routes.put("/settings/base-currency")
@roles("admin")
@endpoint("Set the base currency (admins). Rates entered against the old one stop applying.",
          body=BaseCurrencyIn, response=BaseCurrencyOut)
def put_base_currency(body: BaseCurrencyIn):
    services.set_base_currency(api_user(), body.currency)
    db.session.commit()
    return _settings_out()


@routes.get("/exchange-rates")
@roles(*EVERYONE)
@endpoint("Exchange rates into the base currency, by currency, newest first", query=RateQuery,
          response=RatePage)
def list_exchange_rates(query: RateQuery):
    page = services.list_rates(query.currency, query.page, query.per_page)
    out = page_out(PageOut[RateOut], page, _rate_out)
    return RatePage(**out.model_dump(), base=services.base_currency())


@routes.post("/exchange-rates")
@roles("admin")
@endpoint("Add an exchange rate (admins): 1 `currency` = `rate` base from `valid_from` on; the same "
          "currency and day again replaces the rate", body=RateIn, response=RateOut, status=201)
def create_exchange_rate(body: RateIn):
    rate = services.add_rate(api_user(), body.currency, body.rate, body.valid_from)
    db.session.commit()
    return _rate_out(rate)


