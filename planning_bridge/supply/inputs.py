"""The one input model of an aggregate-plan scenario: the API's body, the CLI's file and the
scenario builder's form all validate through ``ScenarioIn``, so a bad number reads the same
everywhere (422 with the field named: ``demand``, ``costs.holding``, ``promotions.0.period``).

Money is in the company's base currency. Every number is bounded so the solver never sees
an absurd one, and lists are bounded too (at most ``MAX_MONTHS`` months, ``MAX_PROMOTIONS``
candidate promotions)."""
from __future__ import annotations

from typing import Annotated, Literal

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from planning_bridge.periods import parse_period
from planning_bridge.supply.model import Costs, Limits, Scenario
from planning_bridge.supply.promotions import Promotion
from planning_bridge.supply.strategies import STRATEGIES

MAX_MONTHS = 60
MAX_PROMOTIONS = 12
MAX_QUANTITY = 1e9
MAX_MONEY = 1e7
PERIOD = r"^\d{4}-\d{2}$"

Quantity = Annotated[float, Field(ge=0, le=MAX_QUANTITY, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
Period = Annotated[str, Field(pattern=PERIOD)]
Strategy = Literal["optimal", "chase", "level", "planner"]
DEFAULT_STRATEGIES: tuple[Strategy, ...] = ("optimal", "chase", "level")


def invalid(fields: dict[str, str]) -> PydanticCustomError:
    return PydanticCustomError("invalid", "{summary}", {"summary": "; ".join(fields.values()), "fields": fields})


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CostsIn(_In):
    """Per unit, worker or hour, in the base currency."""

    material: Rate = Field(description="material per unit made in house")
    holding: Rate = Field(description="per unit of ending inventory per month")
    backlog: Rate = Field(description="per unit of ending backlog per month")
    hiring: Rate = Field(description="per worker hired")
    layoff: Rate = Field(description="per worker laid off")
    regular_hourly: Rate = Field(description="wage per regular hour")
    overtime_hourly: Rate = Field(description="wage per overtime hour")
    subcontract: Rate = Field(description="per unit bought from a subcontractor, material included")


class StartIn(_In):
    workers: Quantity = 0.0
    inventory: Quantity = 0.0
    backlog: Quantity = 0.0


class EndIn(_In):
    min_inventory: Quantity = 0.0
    max_backlog: Quantity = 0.0


class LimitsIn(_In):
    max_workforce: Quantity | None = None
    max_subcontract: Quantity | None = Field(default=None, description="units per month")
    max_inventory: Quantity | None = Field(default=None, description="units at any month end")
    max_production: list[Quantity | None] | None = Field(
        default=None, max_length=MAX_MONTHS,
        description="in-house units per month (regular + overtime), one per period")


class PromotionIn(_In):
    period: Period
    price_discount: Rate = Field(description="off the unit price, base currency")
    lift: float = Field(ge=0, le=10, allow_inf_nan=False, description="share of the month's own demand added")
    forward_buy_share: float = Field(0.0, ge=0, le=1, allow_inf_nan=False,
                                     description="share of each following month's demand bought early")
    forward_buy_months: int = Field(0, ge=0, le=MAX_MONTHS)


class ScenarioIn(_In):
    periods: list[Period] = Field(min_length=1, max_length=MAX_MONTHS, description="consecutive months, YYYY-MM")
    demand: list[Quantity] = Field(min_length=1, max_length=MAX_MONTHS, description="units, one per period")
    price: Rate = Field(description="selling price per unit, base currency")
    costs: CostsIn
    labour_hours_per_unit: float = Field(ge=0.0001, le=10_000, allow_inf_nan=False)
    hours_per_worker_month: float = Field(ge=1, le=744, allow_inf_nan=False)
    max_overtime_hours_per_worker: float = Field(ge=0, le=744, allow_inf_nan=False)
    start: StartIn = Field(default_factory=StartIn)
    end: EndIn = Field(default_factory=EndIn)
    limits: LimitsIn = Field(default_factory=lambda: LimitsIn())
    integer_workers: bool = False
    strategies: list[Strategy] = Field(default_factory=lambda: list(DEFAULT_STRATEGIES), min_length=1,
                                       max_length=len(STRATEGIES))
    planner_workforce: list[Quantity] | None = Field(
        default=None, max_length=MAX_MONTHS, description="the planner's workforce per period (strategy `planner`)")
    promotions: list[PromotionIn] = Field(default_factory=list, max_length=MAX_PROMOTIONS)

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioIn:
        errors = _period_errors(self.periods)
        months = len(self.periods)
        if len(self.demand) != months:
            errors["demand"] = _("%(months)s numbers, one per period (got %(count)s)", months=months,
                                  count=len(self.demand))
        production = self.limits.max_production
        if production is not None and len(production) != months:
            errors["limits.max_production"] = _("%(months)s numbers or nulls, one per period (got %(count)s)",
                                                 months=months, count=len(production))
        if len(set(self.strategies)) != len(self.strategies):
            errors["strategies"] = _("each strategy once")
        errors.update(self._planner_errors(months))
        known = set(self.periods)
        for number, promotion in enumerate(self.promotions):
            if promotion.period not in known:
                errors[f"promotions.{number}.period"] = _("one of the plan's periods")
            if promotion.price_discount > self.price:
                errors[f"promotions.{number}.price_discount"] = _("at most the price")
        if errors:
            raise invalid(errors)
        return self

    def _planner_errors(self, months: int) -> dict[str, str]:
        if "planner" not in self.strategies:
            return {"planner_workforce": "give it with the strategy 'planner'"} if self.planner_workforce else {}
        if self.planner_workforce is None:
            return {"planner_workforce": "required with the strategy 'planner': the workforce of each period"}
        if len(self.planner_workforce) != months:
            return {"planner_workforce": f"{months} numbers, one per period (got {len(self.planner_workforce)})"}
        if self.integer_workers and any(w != int(w) for w in self.planner_workforce):
            return {"planner_workforce": "whole workers (integer_workers is on)"}
        return {}

    def scenario(self) -> Scenario:
        lim = self.limits
        return Scenario(
            periods=tuple(self.periods), demand=tuple(self.demand), price=self.price,
            costs=Costs(**self.costs.model_dump()),
            labour_hours_per_unit=self.labour_hours_per_unit, hours_per_worker_month=self.hours_per_worker_month,
            max_overtime_hours_per_worker=self.max_overtime_hours_per_worker,
            start_workers=self.start.workers, start_inventory=self.start.inventory, start_backlog=self.start.backlog,
            min_end_inventory=self.end.min_inventory, max_end_backlog=self.end.max_backlog,
            limits=Limits(lim.max_workforce, lim.max_subcontract, lim.max_inventory,
                          tuple(lim.max_production) if lim.max_production is not None else None),
            integer_workers=self.integer_workers,
        )

    def promotion_list(self) -> list[Promotion]:
        return [Promotion(p.period, p.price_discount, p.lift, p.forward_buy_share, p.forward_buy_months)
                for p in self.promotions]


def _period_errors(periods: list[str]) -> dict[str, str]:
    indexes = [parse_period(p) for p in periods]
    if any(i is None for i in indexes):
        return {"periods": "real months written YYYY-MM"}
    if any(b != a + 1 for a, b in zip(indexes, indexes[1:])):  # type: ignore[operator]
        return {"periods": "consecutive months in order, without gaps or repeats"}
    return {}
