"""JSON API for deals (with product lines, closing and change history) and product families;
thin callers of ``crm.deals.services``. Everyone may read deals and families (planners need
the pipeline), each deal as its reader may see it (``crm.deals.visible``: a planner gets no
``contact_id`` and may not filter by contact); sales writes deals, admins write families."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from flask import g
from pydantic import Field, model_validator

from crm.api.auth import api_user
from crm.api.bounds import RecordDay
from crm.api.endpoint import endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import (
    CENT,
    MAX_AMOUNT,
    CompanyRef,
    Id,
    Money,
    MoneyIn,
    OutModel,
    PageOut,
    Quantity,
    QueryModel,
    StrictModel,
    Text,
    UserRef,
    UtcDateTime,
    page_out,
    patch_model,
)
from crm.deals import services
from crm.deals.models import DEAL_STATUSES
from crm.deals.visible import deal_view
from crm.errors import NotFound
from crm.extensions import db
from crm.i18n import _
from crm.policy import require_personal_data
from crm.timeutil import utcnow
from crm.web.access import EVERYONE, SALES, roles

routes = ApiRoutes()

FAMILY_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # addressed in URLs: no slashes or spaces


# --- deals ------------------------------------------------------------------------------

def line_amount(quantity: float, unit_price: Decimal) -> Decimal:
    """As the service computes it, so a sent amount can be checked against it."""
    return (Decimal(str(quantity)) * unit_price).quantize(CENT)


class DealLineIn(StrictModel):
    family: Text(40, min_length=1) = Field(description="product family code")
    quantity: Quantity
    unit_price: MoneyIn
    amount: MoneyIn | None = Field(
        None, description="optional: computed as quantity x unit_price; if sent it must match")

    @model_validator(mode="after")
    def _amount_matches(self):
        computed = line_amount(self.quantity, self.unit_price)
        if computed > MAX_AMOUNT:
            raise ValueError(_("quantity x unit_price is too large"))
        if self.amount is not None and self.amount != computed:
            raise ValueError(_("amount must be quantity x unit_price = %(amount)s", amount=computed))
        return self


class _LinesFitOneDeal(StrictModel):
    @model_validator(mode="after")
    def _total_fits(self):
        lines = getattr(self, "lines", None) or ()
        total = sum((line_amount(line.quantity, line.unit_price) for line in lines), Decimal(0))
        if total > MAX_AMOUNT:
            raise ValueError(_("the lines add up to more than the largest amount a deal can hold"))
        return self


class DealIn(_LinesFitOneDeal):
    """A deal. Its amount is the sum of its lines."""

    name: Text(200, min_length=1)
    stage_id: Id
    expected_close: RecordDay = Field(description="within 20 years of today")
    company_id: Id | None = Field(None, description="defaults to the contact's company")
    contact_id: Id | None = Field(None, description="the primary contact")
    owner_id: Id | None = Field(None, description="a rep creating a deal without one owns it")
    currency: Text(3) = Field("EUR", pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code")
    source: Text(100) | None = None
    lines: list[DealLineIn] = Field(default_factory=list, max_length=200)


DealPatch = patch_model(DealIn, "DealPatch", base=_LinesFitOneDeal)


class DealCloseIn(StrictModel):
    won: bool
    lost_reason: Text(200) | None = Field(None, description="required when won is false")
    closed_on: RecordDay | None = Field(None, description="defaults to today (UTC); within 20 years of it")


class StageRef(OutModel):
    id: int
    name: str
    probability: float


class ShipHoldOut(OutModel):
    family: str
    earliest_month: str | None = Field(
        description="YYYY-MM: the first month the published plan's free capacity takes the deal's quantity of "
                    "the family; null when no month of the plan's horizon can")
    delivery_month: str = Field(description="YYYY-MM: expected close + the family's lead time")
    quantity: float = Field(description="the deal's units of the family (its lines summed)")


class DealLineOut(OutModel):
    family: str
    quantity: float
    unit_price: Money
    amount: Money
    ship_hold: ShipHoldOut | None = Field(
        None, description="set when the plant cannot deliver this family in the delivery month (open deals, "
                          "with a published plan that knows the month's capacity); null otherwise")


class DealOut(OutModel):
    id: int
    name: str
    status: Literal["open", "won", "lost"]
    stage_id: int
    stage: StageRef
    amount: Money
    currency: str
    expected_close: date
    company_id: int | None
    company: CompanyRef | None = Field(description="the account's id and name (all readers)")
    contact_id: int | None = Field(
        description="the primary contact; null for readers who may not see contacts (planners)")
    owner_id: int | None
    owner: UserRef | None
    source: str | None
    created_at: UtcDateTime
    stage_entered_at: UtcDateTime
    closed_on: date | None
    lost_reason: str | None
    lines: list[DealLineOut]


class DealPage(PageOut[DealOut]):
    pass


class DealChangeOut(OutModel):
    id: int
    field: str = Field(description="stage, expected_close, amount, lines or status")
    old_value: Any
    new_value: Any
    changed_by: UserRef | None
    changed_at: UtcDateTime


class DealHistory(OutModel):
    items: list[DealChangeOut]


class DealQuery(QueryModel):
    q: Text(200) = Field("", description="search in deal and company name")
    status: Literal[DEAL_STATUSES] | None = Field(None, description="all statuses when absent")  # type: ignore[valid-type]
    owner_id: Id | None = None
    stage_id: Id | None = None
    company_id: Id | None = None
    contact_id: Id | None = Field(None, description="not for planners (403): contacts are personal data")
    sort: Literal["expected_close", "amount", "created", "name"] = "expected_close"


def deal_out(deal) -> DealOut:
    """A deal as the API's caller may see it (the fields ``crm.policy`` lets them read)."""
    view = deal_view(api_user(), deal)
    holds = {code: ShipHoldOut(family=code, earliest_month=_month(hold.earliest_month),
                               delivery_month=_month(hold.delivery_month) or "", quantity=float(hold.quantity))
             for code, hold in services.ship_holds(view, utcnow().date(), _plan_answers()).items()}
    lines = [
        DealLineOut(family=line.family.code, quantity=line.quantity, unit_price=line.unit_price, amount=line.amount,
                    ship_hold=holds.get(line.family.code))
        for line in view.lines
    ]
    return DealOut.model_validate({
        **{key: getattr(view, key) for key in DealOut.model_fields
           if key not in ("lines", "stage", "owner", "company")},
        "stage": StageRef.model_validate(view.stage),
        "company": CompanyRef(id=view.company.id, name=view.company.name) if view.company else None,
        "owner": UserRef(id=view.owner.id, name=view.owner.name) if view.owner else None,
        "lines": lines,
    })


def _plan_answers() -> services.PlanAnswers:
    """One set of plan answers per request: a page of deals asks the provider once per family
    and month, not once per deal."""
    if "plan_answers" not in g:
        g.plan_answers = services.PlanAnswers()
    return g.plan_answers


def _month(day: date | None) -> str | None:
    return None if day is None else f"{day:%Y-%m}"


def _deal_data(body) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    for line in data.get("lines") or ():
        line.pop("amount", None)
    return data


@routes.get("/deals")
@roles(*EVERYONE)
@endpoint("List deals", query=DealQuery, response=DealPage)
def list_deals(query: DealQuery):
    if query.contact_id is not None:
        require_personal_data(api_user())
    page = services.list_deals(
        query.q, status=query.status, owner_id=query.owner_id, stage_id=query.stage_id,
        company_id=query.company_id, contact_id=query.contact_id, sort=query.sort,
        **page_args(query),
    )
    return page_out(DealPage, page, deal_out)


@routes.post("/deals")
@roles(*SALES)
@endpoint("Create a deal with its lines", body=DealIn, response=DealOut, status=201)
def create_deal(body: DealIn):
    deal = services.create_deal(api_user(), _deal_data(body), utcnow())
    db.session.commit()
    return deal_out(services.get_deal(deal.id))


@routes.get("/deals/<int:deal_id>")
@roles(*EVERYONE)
@endpoint("Read a deal", response=DealOut)
def get_deal(deal_id: int):
    return deal_out(services.get_deal(deal_id))


@routes.patch("/deals/<int:deal_id>")
@roles(*SALES)
@endpoint("Update a deal", body=DealPatch, response=DealOut,
          description="Only the fields sent change. `lines` replaces all lines. Changes of stage, "
                      "expected close, amount and lines are recorded in the deal's history.")
def update_deal(deal_id: int, body: DealPatch):
    services.update_deal(api_user(), deal_id, _deal_data(body), utcnow())
    db.session.commit()
    return deal_out(services.get_deal(deal_id))


@routes.delete("/deals/<int:deal_id>")
@roles(*SALES)
@endpoint("Delete a deal", status=204)
def delete_deal(deal_id: int):
    services.delete_deal(api_user(), deal_id)
    db.session.commit()


@routes.post("/deals/<int:deal_id>/close")
@roles(*SALES)
@endpoint("Close a deal as won or lost", body=DealCloseIn, response=DealOut)
def close_deal(deal_id: int, body: DealCloseIn):
    services.close_deal(
        api_user(), deal_id, won=body.won, now=utcnow(), closed_on=body.closed_on,
        lost_reason=body.lost_reason,
    )
    db.session.commit()
    return deal_out(services.get_deal(deal_id))


@routes.post("/deals/<int:deal_id>/reopen")
@roles(*SALES)
@endpoint("Reopen a closed deal", response=DealOut)
def reopen_deal(deal_id: int):
    services.reopen_deal(api_user(), deal_id, utcnow())
    db.session.commit()
    return deal_out(services.get_deal(deal_id))


@routes.get("/deals/<int:deal_id>/history")
@roles(*EVERYONE)
@endpoint("A deal's change history, oldest first", response=DealHistory,
          description="One row per change of stage, expected_close, amount, lines or status; "
                      "creation is the first change of each (old_value null).")
def deal_history(deal_id: int):
    services.get_deal(deal_id)  # 404 for an unknown deal rather than an empty history
    return DealHistory(items=[DealChangeOut.model_validate(c) for c in services.deal_history(deal_id)])


# --- product families -------------------------------------------------------------------

class FamilyIn(StrictModel):
    """A product family: the S&OP planning unit."""

    code: Text(40, min_length=1) = Field(pattern=FAMILY_CODE)
    name: Text(200, min_length=1)
    unit: Text(20, min_length=1) = Field("unit", description="unit of measure")
    lead_time_days: int = Field(0, ge=0, le=3650, description="delivery lead time")
    is_active: bool = True


FamilyPatch = patch_model(FamilyIn, "FamilyPatch")


class FamilyOut(OutModel):
    id: int
    code: str
    name: str
    unit: str
    lead_time_days: int
    is_active: bool


class FamilyPage(PageOut[FamilyOut]):
    pass


class FamilyQuery(QueryModel):
    active: bool | None = Field(None, description="true: only active families")


def _family(code: str):
    """The family addressed by ``code`` in the URL; a code no family could have is a 404
    before it reaches the database."""
    family = None
    if len(code) <= 40 and "\x00" not in code:
        family = services.family_by_code(code)
    if family is None:
        raise NotFound(_("no such product family"))
    return family


@routes.get("/product-families")
@roles(*EVERYONE)
@endpoint("List product families", query=FamilyQuery, response=FamilyPage)
def list_families(query: FamilyQuery):
    families = services.list_families(active_only=bool(query.active))
    args = page_args(query)
    start = (args["page"] - 1) * args["per_page"]
    return FamilyPage(
        items=[FamilyOut.model_validate(f) for f in families[start:start + args["per_page"]]],
        page=args["page"], per_page=args["per_page"], total=len(families),
        pages=max(1, -(-len(families) // args["per_page"])),
    )


@routes.post("/product-families")
@roles("admin")
@endpoint("Create a product family", body=FamilyIn, response=FamilyOut, status=201)
def create_family(body: FamilyIn):
    family = services.create_family(api_user(), body.model_dump(exclude_unset=True))
    db.session.commit()
    return FamilyOut.model_validate(family)


@routes.get("/product-families/<code>")
@roles(*EVERYONE)
@endpoint("Read a product family", response=FamilyOut)
def get_family(code: str):
    return FamilyOut.model_validate(_family(code))


@routes.patch("/product-families/<code>")
@roles("admin")
@endpoint("Update a product family", body=FamilyPatch, response=FamilyOut,
          description="Changing `code` moves the family to its new URL.")
def update_family(code: str, body: FamilyPatch):
    family = services.update_family(api_user(), _family(code).id, body.model_dump(exclude_unset=True))
    db.session.commit()
    return FamilyOut.model_validate(family)


@routes.delete("/product-families/<code>")
@roles("admin")
@endpoint("Delete a product family", status=204,
          description="A family with deal lines cannot be deleted (409): deactivate it instead.")
def delete_family(code: str):
    services.delete_family(api_user(), _family(code).id)
    db.session.commit()
