"""The CRM's read side for the planning bridge (and any other reader outside ``crm``):
functions returning frozen dataclasses, never models, and the plan-feedback interface through
which the S&OP side may one day answer sales.

What the bridge *builds with* (``db``, column types, errors, roles, API routes, jobs) is not
here but in ``crm/kit.py``, the same kit every feature uses; its pages, routes, CLI and jobs are
mounted by the manifest (``crm/features.py``). This module imports no web, API or scheduler
code.

What is here, by use:

* **Reference data**: ``product_families()``, ``pipeline_stages()``, ``user_names()``.
* **The pipeline now**: ``pipeline_lines()`` (one record per line, for small sets),
  ``open_pipeline_cells()`` (open lines aggregated per family, stage and expected close day in
  the database: what a million-line pipeline needs), ``open_line_columns()`` and
  ``open_deal_features()`` (column arrays for per-deal probabilities), ``won_line_totals()``
  (won units per family and close day), ``deal_summaries()`` (name and owner, no contact data).
* **The pipeline as it stood on any past date**: ``pipeline_lines_as_of()`` and, for the
  bridge's models, ``deal_histories()`` whose ``state_at()`` replays ``DealChange`` — see
  ``crm/public_history.py``; ``history_fingerprint()`` changes whenever any of it does.
* **Money**: every amount handed out is in the base currency (``base_currency_code()``),
  each deal converted at the rate of its conversion day (the close date of a closed deal, the
  last day of an open deal's expected close month: ``crm/money/services.py``). A deal whose
  currency has no rate that day counts 0 (its units still count) and is named by
  ``missing_exchange_rates()``, which pages and exports warn with.
* **Plan feedback**: the ``PlanFeedback`` protocol (the published consensus plan as
  ``PlanCell`` rows, capacity slack and available-to-promise per family and month), provided
  by the S&OP side. A provider is set per app with ``set_plan_feedback(app, provider)`` and
  read with ``plan_feedback()`` (``NO_PLAN_FEEDBACK``, which knows nothing, when none was set).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

import numpy as np
from flask import Flask, current_app
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.functions import FunctionElement

from crm.auth.models import User
from crm.contacts.models import Activity
from crm.deals.models import Deal, DealChange, DealLine, ProductFamily, Stage
from crm.extensions import db
from crm.money.models import ExchangeRate
from crm.money.services import RateBook, base_currency, conversion_day, convert, month_end
from crm.public_history import (
    SYSTEM_ACTIVITY_PREFIX,
    DealHistory,
    DealState,
    StateLine,
    deal_histories,
    pipeline_lines_as_of,
)
from crm.public_types import Family, PipelineLine, StageInfo

# --- reference data ---------------------------------------------------------------------

def product_families() -> list[Family]:
    return [
        Family(f.code, f.name, f.unit, f.lead_time_days, f.is_active)
        for f in db.session.scalars(select(ProductFamily).order_by(ProductFamily.code))
    ]


def pipeline_stages() -> list[StageInfo]:
    """Every stage (inactive ones too: old deals may still name them), in pipeline order."""
    return [
        StageInfo(s.name, s.position, s.probability, s.is_active)
        for s in db.session.scalars(select(Stage).order_by(Stage.position, Stage.id))
    ]


# --- the pipeline now -------------------------------------------------------------------

def pipeline_lines() -> Iterator[PipelineLine]:
    """Every line of every deal as it stands now."""
    deals = db.session.scalars(
        select(Deal).options(
            joinedload(Deal.stage), joinedload(Deal.lines).joinedload(DealLine.family)
        ).order_by(Deal.id)
    ).unique()
    book = RateBook.load()
    for deal in deals:
        rate = book.find(deal.currency, conversion_day(deal.status, deal.expected_close, deal.closed_on))
        for line in deal.lines:
            yield PipelineLine(
                deal_id=str(deal.id), family=line.family.code, quantity=line.quantity,
                amount=_in_base(line.amount, rate), stage=deal.stage.name,
                stage_probability=deal.stage.probability,
                created_on=deal.created_at.date(), expected_close=deal.expected_close,
                closed_on=deal.closed_on, won=None if deal.is_open else deal.status == "won",
                currency=deal.currency, original_amount=line.amount,
            )


def _in_base(amount, rate: Decimal | None) -> Decimal:
    """An amount at ``rate`` (``RateBook.find``): 0 without one (``missing_exchange_rates()``
    names those), never the raw amount of another currency."""
    if rate is None:
        return Decimal("0.00")
    return Decimal(amount or 0) if rate == 1 else convert(amount, rate)


def base_currency_code() -> str:
    """The currency every amount this module hands out is in (``amount`` fields, columns)."""
    return base_currency()


@dataclass(frozen=True)
class RateGap:
    """Deals in ``currency`` needing a rate on ``day`` that has none: their amounts are 0 in
    what this module hands out (units are unaffected)."""

    currency: str
    day: date
    deals: int
    amount: Decimal  # in ``currency``


def missing_exchange_rates(open_only: bool = False) -> list[RateGap]:
    """Every currency and conversion day (see ``crm.money.services``) for which deals (open
    ones only with ``open_only``) have no rate into the base currency: what pages and exports
    warn about. One grouped query."""
    book = RateBook.load()
    found: dict[tuple[str, date], list] = {}
    wanted = [Deal.currency != book.base] + ([Deal.status == "open"] if open_only else [])
    for currency, status, expected_close, closed_on, count, amount in db.session.execute(
        select(Deal.currency, Deal.status, Deal.expected_close, Deal.closed_on, func.count(), func.sum(Deal.amount))
        .where(*wanted)
        .group_by(Deal.currency, Deal.status, Deal.expected_close, Deal.closed_on)
    ):
        day = conversion_day(status, expected_close, closed_on)
        if book.find(currency, day) is None:
            entry = found.setdefault((currency, day), [0, Decimal("0.00")])
            entry[0] += count
            entry[1] += Decimal(amount or 0)
    return [RateGap(currency, day, n, total) for (currency, day), (n, total) in sorted(found.items())]


@dataclass(frozen=True)
class PipelineCell:
    """Open deal lines of one family, stage and expected close day, summed per deal first:
    ``deals`` deals whose quantities Q_d add up to ``quantity`` and whose squares add up to
    ``quantity_squared`` (what the variance of "each deal won or lost" needs; the cubes give
    its skew)."""

    family: str
    stage: str
    expected_close: date
    deals: int
    quantity: float
    quantity_squared: float
    quantity_cubed: float
    amount: Decimal


def _per_deal_family():
    """Open deals' lines summed per (deal, family): one row per deal and family."""
    return (
        select(
            DealLine.deal_id.label("deal_id"), DealLine.family_id.label("family_id"),
            func.sum(DealLine.quantity).label("q"), func.sum(DealLine.amount).label("amount"),
        )
        .join(Deal, Deal.id == DealLine.deal_id)
        .where(Deal.status == "open")
        .group_by(DealLine.deal_id, DealLine.family_id)
        .subquery()
    )


def open_pipeline_cells() -> list[PipelineCell]:
    """The open pipeline aggregated inside the database (one query, whatever its size)."""
    per_deal = _per_deal_family()
    rows = db.session.execute(
        select(
            per_deal.c.family_id, Deal.stage_id, Deal.expected_close, func.count(),
            func.sum(per_deal.c.q), func.sum(per_deal.c.q * per_deal.c.q),
            func.sum(per_deal.c.q * per_deal.c.q * per_deal.c.q), func.sum(per_deal.c.amount), Deal.currency,
        )
        .join(Deal, Deal.id == per_deal.c.deal_id)
        .group_by(per_deal.c.family_id, Deal.stage_id, Deal.expected_close, Deal.currency)
    ).all()
    families = dict(db.session.execute(select(ProductFamily.id, ProductFamily.code)).all())
    stages = dict(db.session.execute(select(Stage.id, Stage.name)).all())
    book = RateBook.load()
    # Grouped by currency too so each converts at its own rate, then merged back into one cell
    # per family, stage and day (amounts in the base currency).
    cells: dict[tuple[int, int, date], list] = {}
    for family_id, stage_id, close, count, q, q2, q3, amount, currency in rows:
        converted = _in_base(amount, book.find(currency, conversion_day("open", close, None)))
        cell = cells.setdefault((family_id, stage_id, close), [0, 0.0, 0.0, 0.0, Decimal("0.00")])
        cell[0] += count
        cell[1] += float(q)
        cell[2] += float(q2)
        cell[3] += float(q3)
        cell[4] += converted
    return [
        PipelineCell(families[family_id], stages[stage_id], close, count, q, q2, q3, amount)
        for (family_id, stage_id, close), (count, q, q2, q3, amount) in cells.items()
    ]


@dataclass(frozen=True)
class LineColumns:
    """Open deal lines summed per deal and family, as parallel arrays (one entry per deal and
    family): for per-deal probabilities over pipelines too large for one object per line.
    ``family`` and ``stage`` index into ``family_codes`` and ``stage_names``."""

    deal_id: np.ndarray        # int64
    family: np.ndarray         # int32 index into family_codes
    stage: np.ndarray          # int32 index into stage_names
    expected_close: np.ndarray  # datetime64[D]
    quantity: np.ndarray       # float64, summed per deal and family
    amount: np.ndarray         # float64, summed per deal and family
    family_codes: tuple[str, ...]
    stage_names: tuple[str, ...]


def open_line_columns() -> LineColumns:
    per_deal = _per_deal_family()
    family_ids, family_codes = _ids_and_names(ProductFamily.id, ProductFamily.code)
    stage_ids, stage_names = _ids_and_names(Stage.id, Stage.name)
    # Core rows, the date left as the driver returns it (numpy reads both a date and SQLite's
    # "YYYY-MM-DD" text): a million rows without a Python object per value.
    columns = _raw_columns(
        select(per_deal.c.deal_id, per_deal.c.family_id, Deal.stage_id, Deal.expected_close,
               per_deal.c.q, cast(per_deal.c.amount, Float), _foreign_currency())
        .join(Deal, Deal.id == per_deal.c.deal_id), 7)
    expected_close = np.array(columns[3], dtype="datetime64[D]")
    return LineColumns(
        deal_id=np.asarray(columns[0], dtype=np.int64), family=_index(columns[1], family_ids),
        stage=_index(columns[2], stage_ids), expected_close=expected_close,
        quantity=np.asarray(columns[4], dtype=float),
        amount=_open_amounts_in_base(np.asarray(columns[5], dtype=float), columns[6], expected_close),
        family_codes=family_codes, stage_names=stage_names,
    )


def _foreign_currency():
    """A deal's currency when it is not the base currency, else NULL: a million base-currency
    rows then bring no string each."""
    return case((Deal.currency == base_currency(), None), else_=Deal.currency)


def _open_amounts_in_base(amounts: np.ndarray, currencies, expected_close: np.ndarray) -> np.ndarray:
    """Open deals' amounts (floats, one per row) in the base currency: each foreign currency
    (``_foreign_currency``: None for the base) at the rate of its expected close month's last
    day, 0 without one. One rate look-up per currency and month, not per row."""
    book = RateBook.load()
    codes = np.asarray(currencies, dtype=object) if len(currencies) else np.zeros(0, dtype=object)
    foreign = codes.astype(bool)  # None (the base currency) is False
    if not foreign.any():
        return amounts
    factors = np.ones(amounts.size)
    months = expected_close.astype("datetime64[M]")
    for code in set(codes[foreign].tolist()):
        of_code = codes == code
        for month in np.unique(months[of_code]):
            rate = book.find(code, month_end(month.astype("datetime64[D]").astype(date)))
            factors[of_code & (months == month)] = float(rate) if rate is not None else 0.0
    return amounts * factors


def _raw_columns(query, width: int) -> list[tuple]:
    """The query's result as columns of the driver's own values (floats, ints, dates or
    SQLite's ISO date text): a million rows without building a result row object each, which
    numpy then reads in one go."""
    result = db.session.connection().execute(query)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return list(zip(*rows)) if rows else [()] * width


class _EpochSeconds(FunctionElement):
    """Seconds since 1970 (UTC) of a UTC timestamp column, computed by the database."""

    type = Float()
    inherit_cache = True


@compiles(_EpochSeconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS REAL)"


@compiles(_EpochSeconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


@dataclass(frozen=True)
class DealFeatureColumns:
    """What a win-probability model knows about each open deal today, as parallel arrays
    sorted by deal id. ``last_activity`` is NaT for deals nobody touched (system rows such as
    the stage-change note do not count). Per-family facts (the main family) come from
    ``open_line_columns``."""

    deal_id: np.ndarray          # int64
    stage: np.ndarray            # int32 index into stage_names
    created_at: np.ndarray       # datetime64[s], UTC
    stage_entered_at: np.ndarray  # datetime64[s], UTC
    last_activity: np.ndarray    # datetime64[s], UTC, NaT when none
    amount: np.ndarray           # float64, the deal's amount
    stage_names: tuple[str, ...]


def open_deal_features() -> DealFeatureColumns:
    stage_ids, stage_names = _ids_and_names(Stage.id, Stage.name)
    last_touch = (
        select(Activity.deal_id, func.max(Activity.occurred_at).label("last"))
        .where(Activity.deal_id.is_not(None), ~Activity.kind.startswith(SYSTEM_ACTIVITY_PREFIX))
        .group_by(Activity.deal_id)
        .subquery()
    )
    columns = _raw_columns(
        select(Deal.id, Deal.stage_id, _EpochSeconds(Deal.created_at),
               _EpochSeconds(Deal.stage_entered_at), _EpochSeconds(last_touch.c.last),
               cast(Deal.amount, Float), _foreign_currency(), Deal.expected_close)
        .outerjoin(last_touch, last_touch.c.deal_id == Deal.id)
        .where(Deal.status == "open")
        .order_by(Deal.id), 8)
    return DealFeatureColumns(
        deal_id=np.asarray(columns[0], dtype=np.int64),
        stage=_index(columns[1], stage_ids),
        created_at=_seconds(columns[2]),
        stage_entered_at=_seconds(columns[3]),
        last_activity=_seconds(columns[4]),
        amount=_open_amounts_in_base(np.asarray(columns[5], dtype=float), columns[6],
                                     np.array(columns[7], dtype="datetime64[D]")),
        stage_names=stage_names,
    )


@dataclass(frozen=True)
class WonUnits:
    family: str
    closed_on: date
    quantity: float
    amount: Decimal


def won_line_totals() -> list[WonUnits]:
    """Units and amount of won deals' lines per family and close day: the stand-in for actual
    orders when none were imported."""
    rows = db.session.execute(
        select(ProductFamily.code, Deal.closed_on, func.sum(DealLine.quantity), func.sum(DealLine.amount),
               Deal.currency)
        .join(Deal, Deal.id == DealLine.deal_id)
        .join(ProductFamily, ProductFamily.id == DealLine.family_id)
        .where(Deal.status == "won")
        .group_by(ProductFamily.code, Deal.closed_on, Deal.currency)
    ).all()
    book = RateBook.load()
    totals: dict[tuple[str, date], list] = {}
    # A closed deal always has its close day (check constraint closed_on_matches_status).
    for code, closed, q, amount, currency in rows:
        if closed is None:
            continue
        entry = totals.setdefault((code, closed), [0.0, Decimal("0.00")])
        entry[0] += float(q)
        entry[1] += _in_base(amount, book.find(currency, closed))
    return [WonUnits(code, closed, q, amount) for (code, closed), (q, amount) in totals.items()]


@dataclass(frozen=True)
class DealSummary:
    """What a planner may see of a deal: no contact emails or phones."""

    deal_id: str
    name: str
    owner: str
    stage: str
    status: str


def deal_summaries(deal_ids) -> dict[str, DealSummary]:
    ids = sorted({int(i) for i in deal_ids if str(i).isdigit()})
    found: dict[str, DealSummary] = {}
    for start in range(0, len(ids), 500):
        for deal_id, name, owner, stage, status in db.session.execute(
            select(Deal.id, Deal.name, User.name, Stage.name, Deal.status)
            .outerjoin(User, User.id == Deal.owner_id)
            .join(Stage, Stage.id == Deal.stage_id)
            .where(Deal.id.in_(ids[start:start + 500]))
        ):
            found[str(deal_id)] = DealSummary(str(deal_id), name, owner or "", stage, status)
    return found


def earliest_deal_day() -> date | None:
    """The day the first deal was created (UTC), None without deals: where history begins, the
    earliest day an "as of" question can be asked about."""
    first = db.session.scalar(select(func.min(Deal.created_at)))
    return first.date() if first is not None else None


def history_fingerprint() -> tuple:
    """Changes whenever anything a learned model reads changes (deals, their history, touches,
    stage defaults): callers cache models under it."""
    stages = tuple(db.session.execute(select(Stage.name, Stage.probability).order_by(Stage.id)).all())
    deals = db.session.execute(select(func.count(Deal.id), func.max(Deal.id))).one()
    changes = db.session.execute(select(func.count(DealChange.id), func.max(DealChange.id))).one()
    touches = db.session.execute(select(func.count(Activity.id), func.max(Activity.id))).one()
    # Content as well as counts: test databases restart their ids after every test.
    content = db.session.execute(select(
        func.min(DealChange.changed_at), func.max(DealChange.changed_at),
        func.sum(DealChange.id * 7 + func.length(DealChange.field)),
    )).one()
    statuses = tuple(db.session.execute(
        select(Deal.status, func.count(), func.sum(Deal.amount), func.max(Deal.closed_on))
        .group_by(Deal.status).order_by(Deal.status)
    ).all())
    rates = db.session.execute(select(func.count(ExchangeRate.id), func.max(ExchangeRate.id),
                                      func.max(ExchangeRate.created_at))).one()
    return (tuple(deals), tuple(changes), tuple(touches), stages, tuple(content), statuses, tuple(rates),
            base_currency())


def user_names(user_ids) -> dict[int, str]:
    ids = {int(i) for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


# --- helpers ----------------------------------------------------------------------------

def _ids_and_names(id_column, name_column) -> tuple[dict[int, int], tuple[str, ...]]:
    rows = db.session.execute(select(id_column, name_column).order_by(id_column)).all()
    return {row[0]: i for i, row in enumerate(rows)}, tuple(row[1] for row in rows)


def _index(ids, positions: dict[int, int]) -> np.ndarray:
    """Positions of database ids (-1 for unknown ones), without a Python loop per row."""
    values = np.asarray(ids, dtype=np.int64) if len(ids) else np.zeros(0, np.int64)
    lookup = np.full(max(positions, default=0) + 2, -1, dtype=np.int32)
    for record_id, position in positions.items():
        lookup[record_id] = position
    inside = (values >= 0) & (values < lookup.size - 1)
    return np.where(inside, lookup[np.where(inside, values, lookup.size - 1)], -1).astype(np.int32)


def _seconds(epochs) -> np.ndarray:
    """Seconds since 1970 (None: never) as UTC datetime64[s] (NaT)."""
    values = np.asarray(epochs, dtype=float) if len(epochs) else np.zeros(0)
    result = np.full(values.size, np.datetime64("NaT"), dtype="datetime64[s]")
    known = ~np.isnan(values)
    result[known] = np.rint(values[known]).astype(np.int64).astype("datetime64[s]")
    return result


# --- what the S&OP side tells sales ---------------------------------------------------

@dataclass(frozen=True)
class PlanCell:
    """One family and month of the consensus plan in force (the latest published version):
    what operations will produce (``capacity_units``, None when not entered), what sales are
    to sell (``demand_units``) and the revenue that stands for. ``period`` is the month's
    first day; ``cycle`` the S&OP cycle that published it ("YYYY-MM")."""

    family: str
    period: date
    demand_units: Decimal
    capacity_units: Decimal | None
    revenue: Decimal | None
    cycle: str
    version: int


class PlanFeedback(Protocol):
    """What the S&OP side tells sales. The CRM defines it; the planning bridge provides it
    (``set_plan_feedback`` where its app is built), so the CRM never imports the bridge.

    * ``plan(start, end)``: the published plan's cells for the months from ``start`` to
      ``end`` (first days, both included); empty when nothing is published.
    * ``capacity_slack(family, month)``: capacity − planned demand − units already committed
      (won deals shipping that month); None when no capacity is known for that month.
    * ``earliest_month(family, quantity, start)``: available-to-promise, the first month from
      ``start`` whose free capacity (capacity − committed) takes ``quantity``; None when no
      month of the plan's horizon can.
    """

    def plan(self, start: date, end: date) -> list[PlanCell]: ...

    def capacity_slack(self, family: str, month: date) -> Decimal | None: ...

    def earliest_month(self, family: str, quantity: Decimal, start: date) -> date | None: ...


class NoPlanFeedback:
    """The provider of an app nobody gave one: no plan, no known capacity."""

    def plan(self, start: date, end: date) -> list[PlanCell]:
        return []

    def capacity_slack(self, family: str, month: date) -> Decimal | None:
        return None

    def earliest_month(self, family: str, quantity: Decimal, start: date) -> date | None:
        return None


NO_PLAN_FEEDBACK = NoPlanFeedback()
_PLAN_FEEDBACK_KEY = "crm.plan_feedback"


def set_plan_feedback(app: Flask, provider: PlanFeedback) -> None:
    """Give ``app`` its plan-feedback provider. Kept in ``app.extensions``, so two apps in one
    process (tests, the worker beside the web app) never see each other's."""
    app.extensions[_PLAN_FEEDBACK_KEY] = provider


def plan_feedback() -> PlanFeedback:
    """The current app's provider (``NO_PLAN_FEEDBACK`` when none was set)."""
    provider: PlanFeedback = current_app.extensions.get(_PLAN_FEEDBACK_KEY, NO_PLAN_FEEDBACK)
    return provider


__all__ = [
    "NO_PLAN_FEEDBACK", "DealFeatureColumns", "DealHistory", "DealState", "DealSummary", "Family",
    "LineColumns", "NoPlanFeedback", "PipelineCell", "PipelineLine", "PlanCell", "PlanFeedback", "RateGap",
    "StageInfo",
    "StateLine", "WonUnits", "base_currency_code", "deal_histories", "deal_summaries", "history_fingerprint",
    "missing_exchange_rates", "open_deal_features", "open_line_columns", "open_pipeline_cells", "pipeline_lines",
    "pipeline_lines_as_of", "pipeline_stages", "plan_feedback", "product_families",
    "set_plan_feedback", "user_names", "won_line_totals",
]
