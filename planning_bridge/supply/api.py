"""JSON routes of supply scenarios under ``/api/v1/planning``, mounted by the manifest
("supply": ``planning_bridge.supply.api:routes``). Running a scenario changes nothing, so
finance may run them too; planners and admins set a family's costs and choose a cycle's plan.
Thin callers of ``planning_bridge.supply.services``."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from planning_bridge import crm_port
from planning_bridge.api_schemas import FAMILY_CODE, Money, UtcDateTime
from planning_bridge.supply import services
from planning_bridge.supply.inputs import MAX_MONEY, PERIOD, ScenarioIn
from planning_bridge.supply.schemas import SupplyAggregatePlanOut

routes = crm_port.ApiRoutes()
endpoint, roles = crm_port.endpoint, crm_port.roles


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SupplyCostsIn(_In):
    """A family's cost settings, base currency. Empty price: the cycle's price for the family."""

    price: float | None = Field(None, ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    material: float = Field(ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    holding: float = Field(ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    backlog: float = Field(ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    hiring: float = Field(ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    layoff: float = Field(ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    regular_hourly: float = Field(ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    overtime_hourly: float = Field(ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    subcontract: float = Field(ge=0, lt=MAX_MONEY, allow_inf_nan=False)
    labour_hours_per_unit: float = Field(ge=0.0001, le=10_000, allow_inf_nan=False)
    hours_per_worker_month: float = Field(ge=1, le=744, allow_inf_nan=False)
    max_overtime_hours_per_worker: float = Field(ge=0, le=744, allow_inf_nan=False)
    start_workers: float = Field(0, ge=0, lt=1e9, allow_inf_nan=False)
    max_workforce: float | None = Field(None, ge=0, lt=1e9, allow_inf_nan=False)
    max_subcontract: float | None = Field(None, ge=0, lt=1e9, allow_inf_nan=False)
    max_inventory: float | None = Field(None, ge=0, lt=1e9, allow_inf_nan=False)
    integer_workers: bool = False


class SupplyCostsOut(BaseModel):
    family: str
    entered: bool = Field(description="false: the defaults, nothing entered yet")
    settings: dict[str, float | bool | None]


class SupplyChoiceIn(_In):
    family: str = Field(pattern=FAMILY_CODE)
    strategy: Literal["optimal", "chase", "level", "planner"] = "optimal"
    promotion_period: str | None = Field(None, pattern=PERIOD,
                                         description="choose the optimal plan with this promotion of the scenario")
    scenario: ScenarioIn


class SupplyChosenOut(BaseModel):
    id: int
    cycle: str
    family: str
    strategy: str
    promotion_period: str | None
    total_cost: Money
    revenue: Money
    profit: Money
    chosen_by_id: int | None
    chosen_at: UtcDateTime
    plan: dict[str, Any] = Field(description="the priced plan as chosen (a strategy's or a promotion's answer)")


class SupplyChosenListOut(BaseModel):
    items: list[SupplyChosenOut]


def _costs_out(settings: services.CostSettings) -> SupplyCostsOut:
    return SupplyCostsOut(family=settings.family, entered=settings.entered, settings={
        name: value if isinstance(value, bool) or value is None else float(value)
        for name, value in settings.values.items()})


def chosen_out(month: str, row) -> SupplyChosenOut:
    return SupplyChosenOut(id=row.id, cycle=month, family=row.family, strategy=row.strategy,
                           promotion_period=row.promotion_period, total_cost=row.total_cost, revenue=row.revenue,
                           profit=row.profit, chosen_by_id=row.chosen_by_id, chosen_at=row.chosen_at, plan=row.plan)


@routes.post("/planning/aggregate-plans")
@roles(*services.READERS)
@endpoint("Aggregate plans of one family: optimal, chase, level and a planner's, with promotion what-ifs",
          body=ScenarioIn, response=SupplyAggregatePlanOut,
          description="Solved with SciPy's HiGHS (a linear program; a mixed-integer one with `integer_workers`). "
                      "Money in the company's base currency. A scenario no plan can meet is 422 with the binding "
                      "input named (`limits`, `end.min_inventory`, `start.inventory`); a strategy breaking a limit "
                      "the optimal plan respects comes back with `feasible: false` and its reasons.")
def aggregate_plans(body: ScenarioIn):
    return services.aggregate_plan_out(services.run_aggregate_plan(body))


@routes.get("/planning/families/<code>/supply-costs")
@roles(*services.READERS)
@endpoint("A family's cost settings for supply scenarios (the defaults until entered)", response=SupplyCostsOut)
def get_costs(code: str):
    return _costs_out(services.family_costs(code))


@routes.put("/planning/families/<code>/supply-costs")
@roles(*services.PLANNERS)
@endpoint("Set a family's cost settings for supply scenarios", body=SupplyCostsIn, response=SupplyCostsOut)
def put_costs(code: str, body: SupplyCostsIn):
    services.save_family_costs(crm_port.api_user(), code, body.model_dump(), crm_port.utcnow())
    crm_port.db.session.commit()
    return _costs_out(services.family_costs(code))


@routes.get("/planning/cycles/<month>/supply-plans")
@roles(*services.READERS)
@endpoint("The supply plans chosen in a cycle, newest first (the first per family is in use)",
          response=SupplyChosenListOut)
def list_chosen(month: str):
    return SupplyChosenListOut(items=[chosen_out(month, row) for row in services.chosen_plans(month)])


@routes.post("/planning/cycles/<month>/supply-plans")
@roles(*services.PLANNERS)
@endpoint("Use a scenario's plan for a family in the cycle's supply review", body=SupplyChoiceIn,
          response=SupplyChosenOut, status=201,
          description="The scenario is solved again and stored with the cycle; 409 once the cycle's plan is published.")
def choose(month: str, body: SupplyChoiceIn):
    row = services.choose_plan(crm_port.api_user(), month, body.family, body.scenario, body.strategy,
                               crm_port.utcnow(), promotion_period=body.promotion_period)
    crm_port.db.session.commit()
    return chosen_out(month, row)
