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


def delivery_month(expected_close: date, lead_time_days: int, today: date) -> date:
    ships = expected_close + timedelta(days=lead_time_days or 0)
    return max(ships, today).replace(day=1)


def ship_holds(deal, today: date) -> dict[str, ShipHold]:
    """The deal's held families (code -> hold); empty for a closed deal or with no plan.
    ``deal`` is anything with ``status``, ``expected_close`` and ``lines`` whose ``family``
    has ``code`` and ``lead_time_days`` (a ``Deal`` or a ``DealView``)."""
    if getattr(deal, "status", None) != "open" or deal.expected_close is None:
        return {}
    quantities: dict[str, Decimal] = {}
    lead_times: dict[str, int] = {}
    for line in deal.lines:
        code = line.family.code
        quantities[code] = quantities.get(code, Decimal(0)) + Decimal(str(line.quantity))
        lead_times[code] = line.family.lead_time_days
    feedback = plan_feedback()
    holds = {}
    for code, quantity in sorted(quantities.items()):
        month = delivery_month(deal.expected_close, lead_times[code], today)
        if feedback.capacity_slack(code, month) is None:
            continue
        earliest = feedback.earliest_month(code, quantity, month)
        if earliest is None or earliest > month:
            holds[code] = ShipHold(code, quantity, month, earliest)
    return holds
