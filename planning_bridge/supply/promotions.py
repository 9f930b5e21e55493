"""Promotion what-ifs: a price discount in one month, and what it does to demand and to the
cheapest plan.

The month's own consumption rises by ``lift`` (0.1: ten per cent more), and customers buy
early a ``forward_buy_share`` of each of the next ``forward_buy_months`` months' demand (that
demand moves into the promotion month: it is not new, it comes sooner). Months past the
horizon are not moved (the plan does not know them). Every unit sold in the promotion month
sells at the discounted price; the others at the list price.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from planning_bridge.supply.model import CENT, QUANTUM, PricedPlan, Scenario, price_plan, solve


@dataclass(frozen=True)
class Promotion:
    period: str
    price_discount: float         # off the unit price, in the base currency
    lift: float                   # share of the month's own demand added
    forward_buy_share: float      # share of each following month's demand bought early
    forward_buy_months: int


@dataclass(frozen=True)
class PromotionResult:
    promotion: Promotion
    demand: tuple[float, ...]
    plan: PricedPlan
    profit_change: Decimal        # against the base case's optimal plan


def promoted_demand(demand: tuple[float, ...] | list[float], month: int, promotion: Promotion) -> tuple[float, ...]:
    """The demand vector with the promotion in ``month`` (an index into ``demand``)."""
    rebuilt = [float(d) for d in demand]
    pulled = 0.0
    for later in range(month + 1, min(month + 1 + promotion.forward_buy_months, len(rebuilt))):
        moved = rebuilt[later] * promotion.forward_buy_share
        rebuilt[later] -= moved
        pulled += moved
    rebuilt[month] = rebuilt[month] * (1 + promotion.lift) + pulled
    return tuple(rebuilt)


def promotion_revenue(s: Scenario, demand: tuple[float, ...], month: int, promotion: Promotion) -> Decimal:
    price = Decimal(repr(float(s.price)))
    discounted = max(price - Decimal(repr(float(promotion.price_discount))), Decimal(0))
    total = Decimal(0)
    for t, units in enumerate(demand):
        sold = Decimal(repr(float(units))).quantize(QUANTUM, ROUND_HALF_UP)
        total += sold * (discounted if t == month else price)
    return total.quantize(CENT, ROUND_HALF_UP)


def evaluate_promotion(s: Scenario, promotion: Promotion, base: PricedPlan) -> PromotionResult:
    """Demand rebuilt, the optimal plan re-solved and priced (``Infeasible`` when the extra
    demand cannot be met)."""
    month = s.periods.index(promotion.period)
    demand = promoted_demand(s.demand, month, promotion)
    promoted = s.with_demand(demand)
    plan = price_plan(promoted, solve(promoted), "optimal",
                      revenue=promotion_revenue(s, demand, month, promotion))
    return PromotionResult(promotion, demand, plan, plan.profit - base.profit)
