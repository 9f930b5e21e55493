"""The consensus plan and the business plan.

A cycle's consensus plan is kept in **versions**: one is made from the cycle itself at the
executive meeting (``publish_cycle``: the demand plan after overrides, the capacity entered,
revenue = units × price) or imported (CSV ``family,period,demand_units,capacity_units,revenue``
or the same as JSON rows). A version is a draft until published; published, it never changes
(no update path here; database triggers refuse one: ``models.IMMUTABLE_PLAN_DDL``). The plan
in force is the latest published version of any cycle: a new version supersedes it.

Imports are all or nothing, as the bridge's other imports (``planning_bridge/imports.py``):
every bad line is listed and nothing is written. The business plan (``family,period,revenue``)
is finance's revenue target per family and month; each row replaces its family-month.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from sqlalchemy import func, select

from planning_bridge import crm_port
from planning_bridge.contracts import ImportRejection, ImportResult
from planning_bridge.imports import read_rows
from planning_bridge.periods import parse_period, period_text
from planning_bridge.sop import review
from planning_bridge.sop.cycles import get_cycle, horizon_periods, require_planner
from planning_bridge.sop.models import BusinessPlanCell, Cycle, PlanVersion, PlanVersionCell

PLAN_COLUMNS = ("family", "period", "demand_units", "capacity_units", "revenue")
PLAN_REQUIRED = ("family", "period", "demand_units")
BUSINESS_PLAN_COLUMNS = ("family", "period", "revenue")
MAX_JSON_ROWS = 50_000


@dataclass(frozen=True)
class PlanImport:
    result: ImportResult
    version: PlanVersion | None


# --- versions ---------------------------------------------------------------------------------

def versions(cycle: Cycle) -> list[PlanVersion]:
    return list(crm_port.db.session.scalars(
        select(PlanVersion).where(PlanVersion.cycle_id == cycle.id).order_by(PlanVersion.version)))


def plan_in_force() -> PlanVersion | None:
    """The latest published version of any cycle (the newest cycle's, then the highest version)."""
    return crm_port.db.session.scalar(
        select(PlanVersion).join(Cycle, Cycle.id == PlanVersion.cycle_id)
        .where(PlanVersion.published_at.is_not(None))
        .order_by(Cycle.month.desc(), PlanVersion.version.desc()).limit(1))


def get_version(month: str, version: int) -> PlanVersion:
    cycle = get_cycle(month)
    found = crm_port.db.session.scalar(select(PlanVersion).where(
        PlanVersion.cycle_id == cycle.id, PlanVersion.version == version))
    if found is None:
        raise crm_port.NotFound(_("no version %(version)s of the %(month)s plan", version=version, month=month))
    return found


def _new_version(cycle: Cycle, source: str, actor_id: int | None, now: datetime) -> PlanVersion:
    latest = crm_port.db.session.scalar(
        select(func.max(PlanVersion.version)).where(PlanVersion.cycle_id == cycle.id)) or 0
    version = PlanVersion(cycle_id=cycle.id, version=latest + 1, source=source, created_at=now,
                          created_by_id=actor_id)
    crm_port.db.session.add(version)
    crm_port.db.session.flush()
    return version


def _add_cells(version: PlanVersion, rows: list[dict[str, Any]]) -> None:
    crm_port.db.session.add_all(PlanVersionCell(plan_id=version.id, **row) for row in rows)
    crm_port.db.session.flush()


def publish(actor, month: str, version_number: int, now: datetime) -> PlanVersion:
    """Publish a draft version: it becomes the plan in force and never changes again."""
    require_planner(actor)
    version = get_version(month, version_number)
    if version.published_at is not None:
        raise crm_port.Conflict(_("version %(version_number)s of the %(month)s plan is published already",
                                  version_number=version_number, month=month))
    version.published_at, version.published_by_id = now, getattr(actor, "id", None)
    crm_port.db.session.flush()
    return version


def publish_cycle(actor, month: str, now: datetime) -> PlanVersion:
    """The executive meeting's plan: the cycle's demand plan, capacity and revenue, as a new
    version, published."""
    require_planner(actor)
    cycle = get_cycle(month)
    capacity = review.capacity_of(cycle)
    rows = [
        {"family": cell.family, "period": cell.period, "demand_units": cell.demand_units,
         "capacity_units": capacity.get((cell.family, cell.period)), "revenue": cell.revenue}
        for cell in review.demand_plan(cycle)
    ]
    version = _new_version(cycle, "cycle", getattr(actor, "id", None), now)
    _add_cells(version, rows)
    return publish(actor, month, version.version, now)


# --- imports ----------------------------------------------------------------------------------

def import_plan(actor, month: str, source, now: datetime, *, publish_it: bool = False) -> PlanImport:
    """A consensus plan from CSV (bytes, text, a path or a stream) or JSON rows (a list of
    objects) for the cycle ``month``: a new version, published when asked."""
    require_planner(actor)
    cycle = get_cycle(month)
    families = {f.code for f in crm_port.product_families()}
    horizon = set(horizon_periods(cycle))
    lines, rejected = _lines(source, PLAN_COLUMNS, PLAN_REQUIRED)
    records: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in lines:
        try:
            record = _plan_record(raw, families, horizon)
            _once(seen, record, line)
        except ValueError as exc:
            rejected.append(ImportRejection(line, str(exc)))
            continue
        records.append(record)
    if rejected or not records:
        if not rejected:
            rejected.append(ImportRejection(1, _("no rows: a plan has at least one family and month")))
        return PlanImport(ImportResult("consensus plan", len(records) + len(rejected), 0, tuple(rejected)), None)
    version = _new_version(cycle, "import", getattr(actor, "id", None), now)
    _add_cells(version, records)
    if publish_it:
        publish(actor, month, version.version, now)
    return PlanImport(ImportResult("consensus plan", len(records), len(records)), version)


def import_business_plan(actor, source, now: datetime) -> ImportResult:
    require_planner(actor)
    families = {f.code for f in crm_port.product_families()}
    lines, rejected = _lines(source, BUSINESS_PLAN_COLUMNS, BUSINESS_PLAN_COLUMNS)
    records: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in lines:
        try:
            record = {"family": _family(raw, families), "period": _period(raw, None),
                      "revenue": _amount(raw, "revenue", required=True)}
            _once(seen, record, line)
        except ValueError as exc:
            rejected.append(ImportRejection(line, str(exc)))
            continue
        records.append(record)
    if rejected:
        return ImportResult("business plan", len(records) + len(rejected), 0, tuple(rejected))
    existing = {(c.family, c.period): c for c in crm_port.db.session.scalars(select(BusinessPlanCell))}
    replaced = 0
    for record in records:
        cell = existing.get((str(record["family"]), str(record["period"])))
        if cell is None:
            crm_port.db.session.add(BusinessPlanCell(**record, imported_at=now))
        else:
            cell.revenue, cell.imported_at = Decimal(str(record["revenue"])), now
            replaced += 1
    crm_port.db.session.flush()
    return ImportResult("business plan", len(records), len(records), (), replaced)


def _lines(source, columns: tuple[str, ...], required: tuple[str, ...]):
    """(line or row number, {column: text}) pairs and the rejections so far: CSV lines (the
    header is line 1) or JSON rows (numbered from 1)."""
    if isinstance(source, list):
        return _json_lines(source, columns, required)
    header, rows, rejected = read_rows(source, required, tuple(c for c in columns if c not in required))
    if header is None:
        return [], list(rejected)
    return list(rows), list(rejected)


def _json_lines(rows: list, columns: tuple[str, ...], required: tuple[str, ...]):
    if len(rows) > MAX_JSON_ROWS:
        return [], [ImportRejection(1, _("more than %(max)s rows: split the plan", max=f"{MAX_JSON_ROWS:,}"))]
    lines, rejected = [], []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            rejected.append(ImportRejection(number, _("not an object")))
            continue
        missing = [c for c in required if row.get(c) in (None, "")]
        unknown = [str(k)[:40] for k in row if k not in columns]
        if missing or unknown:
            problems = (["missing " + ", ".join(missing)] if missing else []) + (
                ["unknown " + ", ".join(unknown)] if unknown else [])
            rejected.append(ImportRejection(number, "; ".join(problems)))
            continue
        lines.append((number, {c: "" if row.get(c) is None else str(row.get(c)).strip() for c in columns}))
    return lines, rejected


def _plan_record(raw: dict[str, str], families: set[str], horizon: set[str]) -> dict[str, Any]:
    if "__error__" in raw:
        raise ValueError(raw["__error__"])
    return {
        "family": _family(raw, families), "period": _period(raw, horizon),
        "demand_units": _quantity(raw, "demand_units", required=True),
        "capacity_units": _quantity(raw, "capacity_units", required=False),
        "revenue": _amount(raw, "revenue", required=False),
    }


def _once(seen: dict, record: dict[str, Any], line: int) -> None:
    key = (record["family"], record["period"])
    if key in seen:
        raise ValueError(_("%(family)s %(period)s appears twice (first on line %(line)s)",
                           family=record['family'], period=record['period'], line=seen[key]))
    seen[key] = line


def _family(raw: dict[str, str], families: set[str]) -> str:
    if "__error__" in raw:
        raise ValueError(raw["__error__"])
    code = raw.get("family", "")
    if code not in families:
        raise ValueError(_("unknown family '%(family)s'", family=code[:40]))
    return code


def _period(raw: dict[str, str], horizon: set[str] | None) -> str:
    index = parse_period(raw.get("period", ""))
    if index is None:
        raise ValueError(_("period '%(period)s' is not a month written YYYY-MM", period=raw.get('period', '')[:20]))
    period = period_text(index)
    if horizon is not None and period not in horizon:
        raise ValueError(_("period %(period)s is outside the cycle's horizon (%(first)s to %(last)s)", period=period,
                         first=min(horizon), last=max(horizon)))
    return period


def _decimal(raw: dict[str, str], key: str, required: bool, limit: Decimal) -> Decimal | None:
    text = raw.get(key, "")
    if not text:
        if required:
            raise ValueError(_("%(key)s is empty", key=key))
        return None
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(_("%(key)s '%(text)s' is not a number", key=key, text=text[:20])) from None
    if not value.is_finite() or value >= limit:
        raise ValueError(_("%(key)s is out of range", key=key))
    if value < 0:
        raise ValueError(_("negative %(key)s", key=key))
    return value


def _quantity(raw, key: str, *, required: bool) -> Decimal | None:
    value = _decimal(raw, key, required, review.MAX_UNITS)
    return review.units(value) if value is not None else None


def _amount(raw, key: str, *, required: bool) -> Decimal | None:
    value = _decimal(raw, key, required, Decimal("1e13"))
    return review.money(value) if value is not None else None


def plan_csv(version: PlanVersion) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS)
    for cell in sorted(version.cells, key=lambda c: (c.family, c.period)):
        writer.writerow([cell.family, cell.period, cell.demand_units,
                         "" if cell.capacity_units is None else cell.capacity_units,
                         "" if cell.revenue is None else cell.revenue])
    return out.getvalue()
