"""JSON API of the targets feature (``routes``, mounted on /api/v1 from the manifest)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema, field_validator

from crm.api.auth import api_user
from crm.api.endpoint import endpoint
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, QueryModel
from crm.targets import services
from crm.targets.inputs import parse_month
from crm.timeutil import utcnow
from crm.web.access import roles

routes = ApiRoutes()


# A month as written in the query (parsed to its first day): documented as what is sent.
QueryMonth = Annotated[date, WithJsonSchema({"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"})]


class TargetQuery(QueryModel):
    user_id: Id | None = Field(None, description="whose targets (default: the caller's); reps: their own only, "
                                                 "managers: their team's, admins, planners and finance: anyone's")
    from_: QueryMonth | None = Field(None, alias="from", description="first month, YYYY-MM (default: this month)")
    to: QueryMonth | None = Field(None, description="last month, YYYY-MM (default: two months after 'from'); "
                                              "at most 24 months")

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _month(cls, value: Any) -> date | None:
        return None if value is None else parse_month(value)


class TargetRowOut(BaseModel):
    family: str
    period: str = Field(description="YYYY-MM")
    target_units: Decimal = Field(description="this user's part of the published plan's units")
    target_revenue: Decimal | None = Field(description="their part of the plan's revenue (null: no revenue planned)")
    won_units: Decimal = Field(description="units of the family won that month")
    won_revenue: Decimal = Field(description="revenue won that month, in the base currency (`currency`), each deal "
                                             "at the rate of its close date; won deals without a rate are left out "
                                             "(see `missing_rates`)")
    weighted_units: Decimal = Field(description="open pipeline closing that month x stage probability")
    gap_units: Decimal = Field(description="target − won (negative: ahead of target)")
    gap_revenue: Decimal | None
    allocated: bool = Field(description="the team's manager allocated this cell")


class MissingRateOut(BaseModel):
    currency: str = Field(description="ISO 4217 code with no exchange rate into the base currency on the days below")
    deals: int = Field(description="won deals in this currency left out of won_revenue")
    amount: Decimal = Field(description="their amount, in `currency` (not converted)")
    first_day: date = Field(description="the earliest close date left out")
    last_day: date = Field(description="the latest close date left out")


class TargetList(BaseModel):
    user_id: int
    currency: str = Field(description="the base currency target_revenue, won_revenue and gap_revenue are in")
    items: list[TargetRowOut]
    missing_rates: list[MissingRateOut] = Field(
        default=[], description="won deals left out of won_revenue (and so of gap_revenue) because their currency "
                                "has no exchange rate into the base currency on their close date, per currency; "
                                "empty when every won deal converted. An administrator adds rates on "
                                "POST /exchange-rates.")


@routes.get("/targets")
@roles("rep", "manager", "admin", "planner", "finance")
@endpoint("A user's sales targets per family and month (the published S&OP plan split over reps)",
          query=TargetQuery, response=TargetList,
          description="Money is in the base currency (`currency`). Won deals whose currency has no exchange rate "
                      "on their close date are not in `won_revenue`: `missing_rates` lists them per currency.")
def list_targets(query: TargetQuery):
    viewer, now = api_user(), utcnow()
    start = query.from_ or services.coming_months(viewer, now)[0]
    end = query.to or services.add_months(start, services.MONTHS_SHOWN - 1)
    view = services.user_target_view(viewer, query.user_id, start, end, now)
    return TargetList(user_id=view.user.id, currency=view.currency, items=[TargetRowOut(
        family=r.family, period=f"{r.period:%Y-%m}", target_units=r.target_units, target_revenue=r.target_revenue,
        won_units=r.won_units, won_revenue=r.won_revenue, weighted_units=r.weighted_units, gap_units=r.gap_units,
        gap_revenue=r.gap_revenue, allocated=r.allocated) for r in view.rows],
        missing_rates=[MissingRateOut(currency=m.currency, deals=m.deals, amount=m.amount, first_day=m.first_day,
                                      last_day=m.last_day) for m in view.missing_rates])
