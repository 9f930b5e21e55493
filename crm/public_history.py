"""Deals as they stood on any past date, replayed from ``DealChange``.

The deal services write one ``DealChange`` per tracked field (stage, expected_close, amount,
lines, status) at creation (old value null) and at every later change, so a deal's state at a
moment is, field by field, the newest value written before that moment. Replay rules:

1. A deal created at or after the moment did not exist yet.
2. Each tracked field takes the ``new_value`` of its last change before the moment; a field
   with no recorded change (rows written before history was kept, bulk inserts) keeps its
   current value.
3. ``stage_entered_at`` is the time of the last stage change before the moment (creation for
   a deal still in its first stage).
4. A deal whose last status change before the moment is won or lost is closed. Its
   ``closed_on`` is the current ``closed_on`` when that change is the deal's final status
   change (a back-dated close date is honoured), else the day of the change. A deal closed
   later, even with a back-dated ``closed_on``, was open at the moment: that is what anyone
   looking then saw.
5. Stage probabilities are today's defaults of the stage with that name (a renamed stage's old
   name finds none: probability 0).
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crm.contacts.models import Activity
from crm.deals.models import Deal, DealChange, DealLine, ProductFamily, Stage
from crm.extensions import db
from crm.money.services import RateBook, conversion_day, convert
from crm.public_types import PipelineLine

SYSTEM_ACTIVITY_PREFIX = "deal_"
TRACKED = ("stage", "expected_close", "amount", "lines", "status")


@dataclass(frozen=True)
class StateLine:
    family: str
    quantity: float
    amount: Decimal


@dataclass(frozen=True)
class DealState:
    deal_id: str
    created_at: datetime
    stage: str
    stage_entered_at: datetime
    expected_close: date
    amount: Decimal
    lines: tuple[StateLine, ...]
    status: str                      # open, won, lost
    closed_on: date | None
    last_activity_at: datetime | None  # last touch (call, email, meeting, note) before the moment
    currency: str = ""               # the deal's own; ``amount`` and lines are in the base currency
    converted: bool = True           # False: no rate on the state's conversion day (amounts are 0)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class DealHistory:
    """One deal's recorded changes and touch times, ready to replay to any moment."""

    deal_id: str
    created_at: datetime
    current: dict[str, Any]                       # today's value of each tracked field
    closed_on: date | None                        # today's closed_on
    events: tuple[tuple[datetime, str, Any], ...]  # (changed_at, field, new value), in order
    touches: tuple[datetime, ...] = field(default=())  # non-system activity times, sorted
    currency: str = ""                 # the deal's currency (not tracked: today's)
    rates: RateBook | None = None      # converts the replayed amounts into the base currency

    def state_at(self, moment: datetime) -> DealState | None:
        """The deal as it stood just before ``moment`` (timezone-aware), or None before it
        was created."""
        if self.created_at >= moment:
            return None
        values = dict(self.current)
        stage_entered_at = self.created_at
        status_index = None
        for index, (at, name, value) in enumerate(self.events):
            if at >= moment:
                break
            values[name] = value
            if name == "stage":
                stage_entered_at = at
            elif name == "status":
                status_index = index
        status = values["status"]
        closed_on = None
        if status != "open":
            closed_on = self._closed_on(status_index)
        touch = bisect.bisect_left(self.touches, moment)
        expected_close = _as_date(values["expected_close"])
        amount, lines = Decimal(str(values["amount"])), _as_lines(values["lines"])
        rate = self.rates.find(self.currency, conversion_day(status, expected_close, closed_on)) \
            if self.rates is not None else Decimal(1)
        if rate != 1:
            amount = convert(amount, rate) if rate is not None else Decimal("0.00")
            lines = tuple(StateLine(line.family, line.quantity,
                                    convert(line.amount, rate) if rate is not None else Decimal("0.00"))
                          for line in lines)
        return DealState(
            deal_id=self.deal_id, created_at=self.created_at, stage=values["stage"],
            stage_entered_at=stage_entered_at,
            expected_close=expected_close, amount=amount, lines=lines, status=status, closed_on=closed_on,
            last_activity_at=self.touches[touch - 1] if touch else None,
            currency=self.currency, converted=rate is not None,
        )

    def _closed_on(self, status_index: int | None) -> date | None:
        if status_index is None:  # closed without a recorded status change: trust today's row
            return self.closed_on
        last_status = max(i for i, (_at, name, _v) in enumerate(self.events) if name == "status")
        if status_index == last_status and self.current["status"] != "open" and self.closed_on:
            return self.closed_on
        return self.events[status_index][0].date()


def end_of_day(day: date) -> datetime:
    """The moment a day ends in UTC: "as of a date" includes everything written that day.
    The calendar's last day ends at the last representable moment (``date.max + 1 day`` does
    not exist: an ``as_of`` of 9999-12-31 raised OverflowError, a 500)."""
    if day >= date.max:
        return datetime.max.replace(tzinfo=timezone.utc)
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=timezone.utc)


def deal_histories(*, closed_only: bool = False, created_before: datetime | None = None) -> list[DealHistory]:
    """Every deal's history (only today's closed deals with ``closed_only``; only deals
    created before ``created_before`` when given). Four queries."""
    query = select(Deal.id, Deal.created_at, Deal.closed_on, Deal.status, Deal.expected_close,
                   Deal.amount, Stage.name, Deal.currency).join(Stage, Stage.id == Deal.stage_id)
    if closed_only:
        query = query.where(Deal.status != "open")
    if created_before is not None:
        query = query.where(Deal.created_at < created_before)
    deals = db.session.execute(query.order_by(Deal.id)).all()
    if not deals:
        return []
    ids = [row[0] for row in deals]
    wanted = _id_filter(ids, len(deals))
    lines = defaultdict(list)
    for deal_id, code, quantity, amount in db.session.execute(
        select(DealLine.deal_id, ProductFamily.code, DealLine.quantity, DealLine.amount)
        .join(ProductFamily, ProductFamily.id == DealLine.family_id)
        .where(*wanted(DealLine.deal_id)).order_by(DealLine.id)
    ):
        lines[deal_id].append({"family": code, "quantity": quantity, "amount": str(amount)})
    events = defaultdict(list)
    for deal_id, name, value, at in db.session.execute(
        select(DealChange.deal_id, DealChange.field, DealChange.new_value, DealChange.changed_at)
        .where(*wanted(DealChange.deal_id), DealChange.field.in_(TRACKED))
        .order_by(DealChange.changed_at, DealChange.id)
    ):
        events[deal_id].append((at, name, value))
    touches = defaultdict(list)
    for touched_id, at in db.session.execute(
        select(Activity.deal_id, Activity.occurred_at)
        .where(*wanted(Activity.deal_id), ~Activity.kind.startswith(SYSTEM_ACTIVITY_PREFIX))
        .order_by(Activity.occurred_at)
    ):
        touches[touched_id].append(at)
    rates = RateBook.load()
    return [
        DealHistory(
            deal_id=str(deal_id), created_at=created_at, closed_on=closed_on,
            current={"stage": stage, "expected_close": expected_close, "amount": amount,
                     "lines": lines.get(deal_id, []), "status": status},
            events=tuple(events.get(deal_id, ())), touches=tuple(touches.get(deal_id, ())),
            currency=currency or rates.base, rates=rates,
        )
        for deal_id, created_at, closed_on, status, expected_close, amount, stage, currency in deals
    ]


def _id_filter(ids: list[int], total: int):
    """A WHERE clause for "these deals": none needed when they are all the deals there are."""
    everything = db.session.scalar(select(db.func.count(Deal.id))) == total
    if everything:
        return lambda column: (column.is_not(None),)
    return lambda column: (column.in_(ids),)


def pipeline_lines_as_of(as_of: date) -> list[PipelineLine]:
    """Every line of every deal as it stood at the end of ``as_of`` (UTC): deals created later
    are left out, a deal closed by then is closed (see the module docstring for the rules)."""
    moment = end_of_day(as_of)
    probabilities = dict(db.session.execute(select(Stage.name, Stage.probability)).all())
    lines = []
    for history in deal_histories(created_before=moment):
        state = history.state_at(moment)
        if state is None:
            continue
        won = None if state.is_open else state.status == "won"
        for line in state.lines:
            lines.append(PipelineLine(
                deal_id=state.deal_id, family=line.family, quantity=line.quantity,
                amount=line.amount, stage=state.stage,
                stage_probability=probabilities.get(state.stage, Decimal("0")),
                created_on=state.created_at.date(), expected_close=state.expected_close,
                closed_on=state.closed_on, won=won, currency=state.currency,
            ))
    return lines


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _as_lines(raw: Any) -> tuple[StateLine, ...]:
    return tuple(
        StateLine(str(item["family"]), float(item["quantity"]), Decimal(str(item["amount"])))
        for item in (raw or ())
    )
