"""JSON (and CSV) routes of the S&OP cycle under ``/api/v1/planning``, mounted by the manifest
("sop": ``planning_bridge.sop.api:routes``). Planners and admins run the cycle; finance reads
it (money included); available-to-promise is for everyone signed in (reps promise dates).
Thin callers of ``planning_bridge.sop.services``: parse, call, commit, answer."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from planning_bridge import crm_port
from planning_bridge.api import MAX_REPORTED_REJECTIONS
from planning_bridge.api_schemas import FAMILY_CODE, PERIOD, Money, UtcDateTime
from planning_bridge.contracts import ImportResult
from planning_bridge.imports import MAX_BYTES
from planning_bridge.sop import services

routes = crm_port.ApiRoutes()
endpoint, roles = crm_port.endpoint, crm_port.roles
PLANNERS = services.PLANNERS
READERS = services.MONEY_READERS
EVERYONE = ("rep", "manager", "planner", "finance", "admin")

Units = Annotated[Decimal, PlainSerializer(float, return_type=float), WithJsonSchema({"type": "number"})]
Period = Annotated[str, Field(pattern=PERIOD)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SopCycleIn(_In):
    month: Period = Field(description="the month the cycle reviews (the month just ended), YYYY-MM")


class SopStepIn(_In):
    action: Literal["start", "complete", "reopen"]
    note: str | None = Field(None, max_length=2000)
    owner_id: int | None = Field(None, ge=1, description="the person responsible (a user id)")


class SopOverrideIn(_In):
    family: str = Field(pattern=FAMILY_CODE)
    period: Period
    units: Decimal = Field(ge=0, lt=Decimal("1e12"))
    reason: str = Field(min_length=1, max_length=2000, description="the assumption behind the number")


class SopFamilyIn(_In):
    strategy: Literal["make_to_stock", "make_to_order", "assemble_to_order"]
    target_inventory: Decimal | None = Field(None, ge=0, description="make-to-stock only")
    opening_inventory: Decimal | None = Field(None, ge=0)
    unit_price: Decimal | None = Field(None, ge=0, description="entered average price (else derived from won deals)")


class SopCapacityRowIn(_In):
    family: str = Field(pattern=FAMILY_CODE)
    period: Period
    units: Decimal | None = Field(None, ge=0, description="null removes the month's capacity")


class SopCapacityIn(_In):
    rows: list[SopCapacityRowIn] = Field(max_length=5000)


class SopReviewIn(_In):
    status: Literal["open", "agreed", "escalated"]
    note: str | None = Field(None, max_length=2000, description="required when escalated")


class SopDecisionIn(_In):
    family: str | None = Field(None, pattern=FAMILY_CODE, description="null: about the whole plan")
    text: str = Field(min_length=1, max_length=2000)


class SopPlanQuery(_In):
    cycle: Period
    publish: bool = False


class SopAtpQuery(_In):
    family: str = Field(pattern=FAMILY_CODE)
    quantity: Decimal = Field(gt=0, lt=Decimal("1e12"))
    from_: Period | None = Field(None, alias="from", description="first month to ship (default: this month)")


class SopStepOut(BaseModel):
    step: str
    label: str
    owner_role: str
    owner_id: int | None
    due_on: date
    status: str
    started_at: UtcDateTime | None
    done_at: UtcDateTime | None
    note: str | None


class SopFamilyOut(BaseModel):
    family: str
    strategy: str
    target_inventory: Units | None
    opening_inventory: Units
    unit_price: Money | None
    review_status: str
    review_note: str | None


class SopVersionOut(BaseModel):
    cycle: str
    version: int
    source: str
    created_at: UtcDateTime
    published_at: UtcDateTime | None


class SopCycleOut(BaseModel):
    month: str
    horizon: list[str]
    opened_at: UtcDateTime
    snapshot_id: int | None
    gathering: dict[str, Any] | None
    current_step: str | None
    steps: list[SopStepOut]
    families: list[SopFamilyOut]
    versions: list[SopVersionOut]


class SopCyclesOut(BaseModel):
    items: list[SopCycleOut]


class SopDemandCellOut(BaseModel):
    family: str
    period: str
    baseline_units: Units
    weighted_units: Units
    statistical_units: Units
    override_units: Units | None
    override_reason: str | None
    demand_units: Units
    price: Money | None
    revenue: Money | None


class SopPriceOut(BaseModel):
    family: str
    price: Money | None
    source: str


class SopDemandOut(BaseModel):
    cells: list[SopDemandCellOut]
    prices: list[SopPriceOut]


class SopOverrideOut(BaseModel):
    id: int
    family: str
    period: str
    units: Units
    replaced_units: Units
    reason: str
    created_by_id: int | None
    created_at: UtcDateTime


class SopOverridesOut(BaseModel):
    items: list[SopOverrideOut]


class SopSupplyMonthOut(BaseModel):
    period: str
    demand_units: Units
    capacity_units: Units | None
    shortfall_units: Units
    inventory_units: Units | None
    backlog_units: Units | None
    below_target: bool


class SopSupplyFamilyOut(BaseModel):
    family: str
    strategy: str
    target_inventory: Units | None
    opening_inventory: Units
    months: list[SopSupplyMonthOut]


class SopSupplyOut(BaseModel):
    families: list[SopSupplyFamilyOut]


class SopFinanceCellOut(BaseModel):
    family: str
    period: str
    plan_revenue: Money | None
    business_plan_revenue: Money | None
    gap: Money | None


class SopFinanceOut(BaseModel):
    cells: list[SopFinanceCellOut]


class SopDecisionOut(BaseModel):
    id: int
    family: str | None
    text: str
    decided_by_id: int | None
    decided_at: UtcDateTime


class SopDecisionsOut(BaseModel):
    items: list[SopDecisionOut]


class SopSummaryOut(BaseModel):
    family: str
    name: str
    strategy: str
    review_status: str
    review_note: str | None
    demand_units: Units
    last_cycle_units: Units | None
    revenue: Money | None
    business_plan_revenue: Money | None
    capacity_units: Units | None
    months_over_capacity: int
    end_inventory: Units | None
    end_backlog: Units | None
    decisions: list[SopDecisionOut]


class SopSummariesOut(BaseModel):
    families: list[SopSummaryOut]
    agenda: list[str]


class SopPlanCellOut(BaseModel):
    family: str
    period: str
    demand_units: Units
    capacity_units: Units | None
    revenue: Money | None


class SopPlanOut(BaseModel):
    cycle: str
    version: int
    source: str
    published_at: UtcDateTime | None
    cells: list[SopPlanCellOut]


class SopImportOut(BaseModel):
    kind: str
    rows: int
    accepted: int
    replaced: int
    version: SopVersionOut | None = None


class SopAtpOut(BaseModel):
    family: str
    quantity: Units
    earliest_month: str | None = Field(description="YYYY-MM; null when the plan's horizon cannot take it")


# --- answers --------------------------------------------------------------------------------

def _version_out(version) -> SopVersionOut:
    return SopVersionOut(cycle=version.cycle.month, version=version.version, source=version.source,
                         created_at=version.created_at, published_at=version.published_at)


def cycle_out(cycle) -> SopCycleOut:
    step = services.current_step(cycle)
    return SopCycleOut(
        month=cycle.month, horizon=services.horizon_periods(cycle), opened_at=cycle.opened_at,
        snapshot_id=cycle.snapshot_id, gathering=cycle.gathering, current_step=step.step if step else None,
        steps=[SopStepOut(step=s.step, label=services.STEP_PLAN[s.step][0], owner_role=s.owner_role,
                          owner_id=s.owner_id, due_on=s.due_on, status=s.status, started_at=s.started_at,
                          done_at=s.done_at, note=s.note) for s in cycle.steps],
        families=[SopFamilyOut(family=f.family, strategy=f.strategy, target_inventory=f.target_inventory,
                               opening_inventory=f.opening_inventory, unit_price=f.unit_price,
                               review_status=f.review_status, review_note=f.review_note)
                  for f in services.cycle_families(cycle).values()],
        versions=[_version_out(v) for v in services.versions(cycle)],
    )


def _decision_out(d) -> SopDecisionOut:
    return SopDecisionOut(id=d.id, family=d.family, text=d.text, decided_by_id=d.decided_by_id,
                          decided_at=d.decided_at)


def _plan_out(version) -> SopPlanOut:
    return SopPlanOut(
        cycle=version.cycle.month, version=version.version, source=version.source,
        published_at=version.published_at,
        cells=[SopPlanCellOut(family=c.family, period=c.period, demand_units=c.demand_units,
                              capacity_units=c.capacity_units, revenue=c.revenue)
               for c in sorted(version.cells, key=lambda c: (c.family, c.period))])


def _actor():
    return crm_port.api_user()


def _commit():
    crm_port.db.session.commit()


# --- the cycle ------------------------------------------------------------------------------

@routes.get("/planning/cycles")
@roles(*READERS)
@endpoint("S&OP cycles, newest first", response=SopCyclesOut)
def list_cycles():
    return SopCyclesOut(items=[cycle_out(c) for c in services.list_cycles()])


@routes.post("/planning/cycles")
@roles(*PLANNERS)
@endpoint("Open the S&OP cycle of a month and gather its data", body=SopCycleIn, response=SopCycleOut,
          status=201, description="Takes the demand-input snapshot of the cycle's horizon and the accuracy of "
                                  "past cycles; 409 when the cycle exists.")
def open_cycle(body: SopCycleIn):
    cycle = services.open_cycle(_actor(), body.month, crm_port.utcnow())
    _commit()
    return cycle_out(cycle)


@routes.get("/planning/cycles/<month>")
@roles(*READERS)
@endpoint("One S&OP cycle: its steps, families and plan versions", response=SopCycleOut)
def get_cycle(month: str):
    return cycle_out(services.get_cycle(month))


@routes.post("/planning/cycles/<month>/steps/<step>")
@roles(*PLANNERS)
@endpoint("Start, complete or reopen a step of the cycle", body=SopStepIn, response=SopCycleOut,
          description="Steps run in order; the executive meeting completes once the plan is published; "
                      "409 when the transition is not possible now.")
def advance_step(month: str, step: str, body: SopStepIn):
    services.advance_step(_actor(), month, step, body.action, crm_port.utcnow(), note=body.note,
                          owner_id=body.owner_id)
    _commit()
    return cycle_out(services.get_cycle(month))


# --- demand review --------------------------------------------------------------------------

@routes.get("/planning/cycles/<month>/demand")
@roles(*READERS)
@endpoint("The unconstrained demand plan: units and money per family and month", response=SopDemandOut)
def demand(month: str):
    cycle = services.get_cycle(month)
    prices = services.family_prices(cycle)
    return SopDemandOut(
        cells=[SopDemandCellOut(**vars(c)) for c in services.demand_plan(cycle)],
        prices=[SopPriceOut(family=code, price=p.value, source=p.source) for code, p in prices.items()])


@routes.get("/planning/cycles/<month>/overrides")
@roles(*READERS)
@endpoint("Every demand override of the cycle, newest first (none is ever lost)", response=SopOverridesOut)
def overrides(month: str):
    items = services.override_history(services.get_cycle(month))
    return SopOverridesOut(items=[_override_out(o) for o in items])


def _override_out(o) -> SopOverrideOut:
    return SopOverrideOut(id=o.id, family=o.family, period=o.period, units=o.units, replaced_units=o.replaced_units,
                          reason=o.reason, created_by_id=o.created_by_id, created_at=o.created_at)


@routes.post("/planning/cycles/<month>/overrides")
@roles(*PLANNERS)
@endpoint("Override one family and month of the demand plan, with the assumption", body=SopOverrideIn,
          response=SopOverrideOut, status=201)
def add_override(month: str, body: SopOverrideIn):
    override = services.add_override(_actor(), month, body.family, body.period, body.units, body.reason,
                                     crm_port.utcnow())
    _commit()
    return _override_out(override)


# --- supply review and finance ----------------------------------------------------------------

@routes.put("/planning/cycles/<month>/families/<code>")
@roles(*PLANNERS)
@endpoint("A family's production strategy, inventory and average price in the cycle", body=SopFamilyIn,
          response=SopCycleOut)
def set_family(month: str, code: str, body: SopFamilyIn):
    services.set_family_supply(_actor(), month, code, crm_port.utcnow(), strategy=body.strategy,
                               target_inventory=body.target_inventory, opening_inventory=body.opening_inventory,
                               unit_price=body.unit_price)
    _commit()
    return cycle_out(services.get_cycle(month))


@routes.put("/planning/cycles/<month>/capacity")
@roles(*PLANNERS)
@endpoint("Capacity in units per family and month (each row replaces its month)", body=SopCapacityIn,
          response=SopSupplyOut)
def set_capacity(month: str, body: SopCapacityIn):
    services.set_capacity(_actor(), month, [r.model_dump() for r in body.rows], crm_port.utcnow())
    _commit()
    return _supply(month)


@routes.get("/planning/cycles/<month>/supply")
@roles(*READERS)
@endpoint("Demand against capacity month by month, with the inventory (make-to-stock) or backlog "
          "(make-to-order, assemble-to-order) it implies", response=SopSupplyOut)
def supply(month: str):
    return _supply(month)


def _supply(month: str) -> SopSupplyOut:
    families = services.supply_view(services.get_cycle(month))
    return SopSupplyOut(families=[
        SopSupplyFamilyOut(family=f.family, strategy=f.strategy, target_inventory=f.target_inventory,
                           opening_inventory=f.opening_inventory,
                           months=[SopSupplyMonthOut(**vars(m)) for m in f.months]) for f in families])


@routes.get("/planning/cycles/<month>/finance")
@roles(*READERS)
@endpoint("The plan in money against the business plan, with the gap", response=SopFinanceOut)
def finance(month: str):
    services.require_money_reader(_actor())
    return SopFinanceOut(cells=[SopFinanceCellOut(**vars(c)) for c in services.finance_view(services.get_cycle(month))])


# --- pre-meeting and executive meeting ------------------------------------------------------

@routes.post("/planning/cycles/<month>/reviews/<code>")
@roles(*PLANNERS)
@endpoint("Pre-meeting: mark a family agreed or escalated (with a note)", body=SopReviewIn, response=SopCycleOut)
def review(month: str, code: str, body: SopReviewIn):
    services.review_family(_actor(), month, code, body.status, body.note, crm_port.utcnow())
    _commit()
    return cycle_out(services.get_cycle(month))


@routes.get("/planning/cycles/<month>/decisions")
@roles(*READERS)
@endpoint("The executive meeting's decisions", response=SopDecisionsOut)
def list_decisions(month: str):
    return SopDecisionsOut(items=[_decision_out(d) for d in services.decisions(services.get_cycle(month))])


@routes.post("/planning/cycles/<month>/decisions")
@roles(*PLANNERS)
@endpoint("Record a decision of the executive meeting", body=SopDecisionIn, response=SopDecisionOut, status=201)
def add_decision(month: str, body: SopDecisionIn):
    decision = services.record_decision(_actor(), month, body.family, body.text, crm_port.utcnow())
    _commit()
    return _decision_out(decision)


@routes.get("/planning/cycles/<month>/summary")
@roles(*READERS)
@endpoint("The executive summary: one entry per family", response=SopSummariesOut)
def summary(month: str):
    cycle = services.get_cycle(month)
    return SopSummariesOut(
        families=[_summary_out(s) for s in services.executive_summary(cycle)],
        agenda=[f.family for f in services.agenda(cycle)])


def _summary_out(summary) -> SopSummaryOut:
    figures = {k: v for k, v in vars(summary).items() if k not in ("decisions", "next_quarter", "overrides")}
    return SopSummaryOut(**figures, decisions=[_decision_out(d) for d in summary.decisions])


@routes.post("/planning/cycles/<month>/publish")
@roles(*PLANNERS)
@endpoint("Publish the cycle's consensus plan (a new version; it supersedes the plan in force)",
          response=SopPlanOut, status=201)
def publish_cycle(month: str):
    version = services.publish_cycle(_actor(), month, crm_port.utcnow())
    _commit()
    return _plan_out(version)


# --- consensus and business plans -----------------------------------------------------------

def _rows_sent() -> bytes | list:
    """JSON rows (``{"rows": [...]}`` or a bare list), a text/csv body or a multipart ``file``."""
    if (request.content_length or 0) > MAX_BYTES + 64 * 1024:
        raise crm_port.ValidationFailed(_("file too large"), {"file": _("at most %(mb)s MB", mb=MAX_BYTES // 2**20)})
    if request.is_json:
        data = request.get_json(silent=True)
        rows = data.get("rows") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise crm_port.ValidationFailed(_("send the rows as a JSON list or {\"rows\": [...]}"),
                                            {"rows": _("required")})
        return rows
    upload = request.files.get("file")
    if upload is not None:
        return upload.stream.read(MAX_BYTES + 1)
    if request.mimetype in ("text/csv", "text/plain", "application/csv"):
        return request.get_data()
    raise crm_port.ValidationFailed(_("send text/csv, a multipart field 'file' or JSON rows"), {"file": _("required")})


def _refuse_rejected(result: ImportResult, json_rows: bool) -> None:
    if not result.rejected:
        return
    label = "row" if json_rows else "line"
    fields = {f"{label} {r.line}": r.message for r in result.rejected[:MAX_REPORTED_REJECTIONS]}
    extra = len(result.rejected) - MAX_REPORTED_REJECTIONS
    if extra > 0:
        fields["more"] = ngettext("%(num)s more row rejected (the CLI lists them all)",
                                  "%(num)s more rows rejected (the CLI lists them all)", extra)
    raise crm_port.ValidationFailed(ngettext("%(num)s row rejected; nothing was imported",
                                             "%(num)s rows rejected; nothing was imported",
                                             len(result.rejected)), fields)


@routes.post("/planning/consensus-plans")
@roles(*PLANNERS)
@endpoint("Import a consensus plan for a cycle (a new version; publish=true publishes it)", query=SopPlanQuery,
          response=SopImportOut, status=201,
          description="text/csv body, multipart field `file`, or JSON rows. Columns: family,period,demand_units,"
                      "capacity_units,revenue (capacity_units and revenue may be empty). Any bad row rejects the "
                      "whole file (422, `fields` names each bad line).")
def import_consensus_plan(query: SopPlanQuery):
    source = _rows_sent()
    imported = services.import_plan(_actor(), query.cycle, source, crm_port.utcnow(), publish_it=query.publish)
    if imported.version is None:
        crm_port.db.session.rollback()
    _refuse_rejected(imported.result, isinstance(source, list))
    _commit()
    return SopImportOut(kind=imported.result.kind, rows=imported.result.rows, accepted=imported.result.accepted,
                        replaced=0, version=_version_out(imported.version))


@routes.get("/planning/consensus-plans/current")
@roles(*EVERYONE)
@endpoint("The consensus plan in force (the latest published version)", response=SopPlanOut)
def current_plan():
    version = services.plan_in_force()
    if version is None:
        raise crm_port.NotFound(_("no consensus plan is published yet"))
    return _plan_out(version)


@routes.get("/planning/cycles/<month>/plans/<int:version>")
@roles(*READERS)
@endpoint("One version of a cycle's consensus plan", response=SopPlanOut)
def get_plan(month: str, version: int):
    return _plan_out(services.get_version(month, version))


@routes.post("/planning/cycles/<month>/plans/<int:version>/publish")
@roles(*PLANNERS)
@endpoint("Publish a draft version of the cycle's plan", response=SopPlanOut)
def publish_version(month: str, version: int):
    published = services.publish(_actor(), month, version, crm_port.utcnow())
    _commit()
    return _plan_out(published)


@routes.post("/planning/business-plans")
@roles(*PLANNERS)
@endpoint("Import the business plan (revenue per family and month)", response=SopImportOut, status=201,
          description="text/csv body, multipart field `file`, or JSON rows. Columns: family,period,revenue; "
                      "each row replaces its family-month. Any bad row rejects the whole file (422).")
def import_business_plan():
    source = _rows_sent()
    result = services.import_business_plan(_actor(), source, crm_port.utcnow())
    if result.rejected:
        crm_port.db.session.rollback()
    _refuse_rejected(result, isinstance(source, list))
    _commit()
    return SopImportOut(kind=result.kind, rows=result.rows, accepted=result.accepted, replaced=result.replaced)


# --- available to promise ---------------------------------------------------------------------

@routes.get("/planning/available-to-promise")
@roles(*EVERYONE)
@endpoint("The earliest month the plan can ship a quantity of a family", query=SopAtpQuery, response=SopAtpOut,
          description="Free capacity = the published plan's capacity − won deals due that month (close month "
                      "+ the family's lead time); make-to-stock families count unused capacity as stock "
                      "(cumulative). earliest_month is null when no month of the plan's horizon can take it.")
def available_to_promise(query: SopAtpQuery):
    found = services.available_to_promise(query.family, query.quantity, query.from_)
    return SopAtpOut(family=query.family, quantity=query.quantity,
                     earliest_month=found.strftime("%Y-%m") if found else None)


