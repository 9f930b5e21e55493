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
    weighted_units: Decimal = Field(description="open pipeline closing that month x stage probability")
    gap_units: Decimal = Field(description="target − won (negative: ahead of target)")
    gap_revenue: Decimal | None
    allocated: bool = Field(description="the team's manager allocated this cell")


class TargetList(BaseModel):
    user_id: int
    items: list[TargetRowOut]


@routes.get("/targets")
@roles("rep", "manager", "admin", "planner", "finance")
@endpoint("A user's sales targets per family and month (the published S&OP plan split over reps)",
          query=TargetQuery, response=TargetList)
def list_targets(query: TargetQuery):
    viewer, now = api_user(), utcnow()
    start = query.from_ or services.coming_months(viewer, now)[0]
    end = query.to or services.add_months(start, services.MONTHS_SHOWN - 1)
    user = services.readable_user(viewer, query.user_id)
    rows = services.user_targets(viewer, user.id, start, end, now)
    return TargetList(user_id=user.id, items=[TargetRowOut(
        family=r.family, period=f"{r.period:%Y-%m}", target_units=r.target_units, target_revenue=r.target_revenue,
        won_units=r.won_units, weighted_units=r.weighted_units, gap_units=r.gap_units, gap_revenue=r.gap_revenue,
        allocated=r.allocated) for r in rows])
