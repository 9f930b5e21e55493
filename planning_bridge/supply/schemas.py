"""Answer shapes of aggregate plans (pydantic; in the OpenAPI document through ``api.py``).
The API answers them, the CLI prints them, and a chosen plan is stored as one. Money is a
string with two decimals in the base currency, as everywhere in the API; units are numbers."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from planning_bridge.api_schemas import Money
from planning_bridge.supply.model import Infeasible, PricedPlan

Units = Annotated[Decimal, PlainSerializer(float, return_type=float), WithJsonSchema({"type": "number"})]


class SupplyMonthOut(BaseModel):
    period: str
    demand: Units
    workers: Units
    hires: Units
    layoffs: Units
    regular_units: Units
    overtime_hours: Units
    overtime_units: Units
    subcontract_units: Units
    production: Units = Field(description="regular + overtime + subcontracted units")
    opening_inventory: Units
    inventory: Units = Field(description="ending inventory")
    backlog: Units = Field(description="ending backlog")
    cost: Money


class SupplyCostBreakdownOut(BaseModel):
    regular_labour: Money
    overtime: Money
    hiring: Money
    layoffs: Money
    holding: Money
    backlog: Money
    material: Money
    subcontracting: Money


class SupplyStrategyOut(BaseModel):
    strategy: str
    feasible: bool
    reasons: list[str] = Field(description="why the strategy has no plan (empty when feasible)")
    total_cost: Money | None
    revenue: Money | None
    profit: Money | None
    average_inventory: Units | None = Field(description="mean of opening and ending inventory per month")
    cost_breakdown: SupplyCostBreakdownOut | None
    months: list[SupplyMonthOut]


class SupplyPromotionOut(BaseModel):
    period: str
    price_discount: float
    lift: float
    forward_buy_share: float
    forward_buy_months: int
    strategy: str = "optimal"
    feasible: bool
    reasons: list[str]
    total_cost: Money | None
    revenue: Money | None
    profit: Money | None
    profit_change: Money | None = Field(description="profit against the base case's optimal plan")
    average_inventory: Units | None
    demand: list[float]
    months: list[SupplyMonthOut]


class SupplyAggregatePlanOut(BaseModel):
    currency_note: str = Field(description="money is in the company's base currency")
    strategies: dict[str, SupplyStrategyOut]
    promotions: list[SupplyPromotionOut]


def strategy_out(name: str, outcome: PricedPlan | Infeasible) -> SupplyStrategyOut:
    if isinstance(outcome, Infeasible):
        return SupplyStrategyOut(strategy=name, feasible=False, reasons=outcome.reasons, total_cost=None,
                                 revenue=None, profit=None, average_inventory=None, cost_breakdown=None, months=[])
    return SupplyStrategyOut(
        strategy=name, feasible=True, reasons=[], total_cost=outcome.total_cost, revenue=outcome.revenue,
        profit=outcome.profit, average_inventory=outcome.average_inventory,
        cost_breakdown=SupplyCostBreakdownOut(**outcome.cost_breakdown),
        months=[SupplyMonthOut(**month.__dict__) for month in outcome.months],
    )
