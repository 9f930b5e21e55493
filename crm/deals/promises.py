"""Ship holds: which of an open deal's families the plant cannot deliver when the rep expects,
and the earliest month it could (available-to-promise from the S&OP plan, read through
``crm.public.plan_feedback``; the CRM never imports the planning side).

A deal's family ships in its *delivery month*: the month of the expected close plus the
family's lead time (``ProductFamily.lead_time_days``, the same lead time the planning bridge
uses to place demand), and never before the current month (an overdue deal still has to be
made). The family is held when the plan knows that month's capacity (``capacity_slack`` is not
None) and ``earliest_month(family, quantity, delivery month)``, the first month whose free
capacity (capacity − committed won deals) takes the deal's quantity of that family, is later
than the delivery month, or None (no month of the plan's horizon can). With no plan published,
or no capacity entered for the month, nothing is held: the CRM does not guess.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from crm.public import plan_feedback


@dataclass(frozen=True)
class ShipHold:
    family: str
    quantity: Decimal            # the deal's units of the family (its lines summed)
    delivery_month: date         # when the rep's date would have it ship (first day)
    earliest_month: date | None  # the first month the plan can take it; None: not in the plan's horizon


class PlanAnswers:
    """The provider's answers kept for one request: a page of deals asks about the same family
    and month over and over, and a provider may read the database for each question."""

    def __init__(self) -> None:
        self.provider = plan_feedback()
        self._slack: dict[tuple[str, date], Decimal | None] = {}
        self._earliest: dict[tuple[str, Decimal, date], date | None] = {}

    def capacity_slack(self, family: str, month: date) -> Decimal | None:
        if (family, month) not in self._slack:
            self._slack[(family, month)] = self.provider.capacity_slack(family, month)
        return self._slack[(family, month)]

    def earliest_month(self, family: str, quantity: Decimal, start: date) -> date | None:
        key = (family, quantity, start)
        if key not in self._earliest:
            self._earliest[key] = self.provider.earliest_month(family, quantity, start)
        return self._earliest[key]


def delivery_month(expected_close: date, lead_time_days: int, today: date) -> date:
    ships = expected_close + timedelta(days=lead_time_days or 0)
    return max(ships, today).replace(day=1)


def ship_holds(deal, today: date, answers: PlanAnswers | None = None) -> dict[str, ShipHold]:
    """The deal's held families (code -> hold); empty for a closed deal or with no plan.
    ``deal`` is anything with ``status``, ``expected_close`` and ``lines`` whose ``family``
    has ``code`` and ``lead_time_days`` (a ``Deal`` or a ``DealView``); ``answers``: the
    provider's answers shared by the deals of one request (a page of deals)."""
    if getattr(deal, "status", None) != "open" or deal.expected_close is None:
        return {}
    quantities: dict[str, Decimal] = {}
    lead_times: dict[str, int] = {}
    for line in deal.lines:
        code = line.family.code
        quantities[code] = quantities.get(code, Decimal(0)) + Decimal(str(line.quantity))
        lead_times[code] = line.family.lead_time_days
    feedback = answers or PlanAnswers()
    holds = {}
    for code, quantity in sorted(quantities.items()):
        month = delivery_month(deal.expected_close, lead_times[code], today)
        if feedback.capacity_slack(code, month) is None:
            continue
        earliest = feedback.earliest_month(code, quantity, month)
        if earliest is None or earliest > month:
            holds[code] = ShipHold(code, quantity, month, earliest)
    return holds
