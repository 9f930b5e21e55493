"""The monthly cycle: opening it (by hand or by the month-end job), data gathering, and the
five steps' transitions.

A cycle is named by the month just ended (``2026-02`` is run in early March); its plan covers
the ``horizon`` months after it. Steps run in order: a step starts once the one before it is
done, and the executive meeting is done only once the cycle's plan is published. Planners and
admins run the cycle (``require_planner``); finance reads it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from planning_bridge import crm_port
from planning_bridge.accuracy import accuracy_report
from planning_bridge.history import actuals_by_family
from planning_bridge.periods import DEFAULT_HORIZON, first_day, last_day, month_index, parse_period, period_text
from planning_bridge.snapshots import take_snapshot
from planning_bridge.sop.models import STEPS, STRATEGIES, Cycle, CycleFamily, CycleStep, PlanVersion

log = logging.getLogger(__name__)

PLANNERS = ("planner", "admin")

def N_(message: str) -> str:  # noqa: N802  (gettext's name for it)
    """Marks English kept as data (a step's label) for the catalogue; translated where shown."""
    return message


MONEY_READERS = ("planner", "admin", "finance")
# Who is responsible for each step, and its due day counted from the cycle month's end
# (working back from an executive meeting around the 20th, the usual S&OP calendar).
STEP_PLAN: dict[str, tuple[str, str, int]] = {
    "data_gathering": (N_("Data gathering"), "Demand planner (the month-end job does it)", 3),
    "demand_review": (N_("Demand review"), "Demand planner with sales and marketing", 8),
    "supply_review": (N_("Supply review"), "Operations / supply planner", 12),
    "pre_meeting": (N_("Pre-meeting"), "Demand planner", 15),
    "executive_meeting": (N_("Executive meeting"), "Executive team; the planner publishes", 20),
}
ACTIONS = ("start", "complete", "reopen")


@dataclass(frozen=True)
class Actor:
    """Who acts: a CRM user or anything with an id and a role (the bridge never imports User)."""

    id: int | None
    role: str


def require_planner(actor) -> None:
    if getattr(actor, "role", None) not in PLANNERS:
        raise crm_port.PermissionDenied(_("only planners and admins run the S&OP cycle"))


def require_money_reader(actor) -> None:
    if getattr(actor, "role", None) not in MONEY_READERS:
        raise crm_port.PermissionDenied(_("the plan in money is for finance and planners"))


def check_month(text: str, field: str = "month") -> int:
    index = parse_period(text or "")
    if index is None:
        raise crm_port.ValidationFailed(_("not a month"), {field: _("a month written YYYY-MM")})
    return index


def horizon_periods(cycle: Cycle) -> list[str]:
    start = month_index_of(cycle) + 1
    return [period_text(i) for i in range(start, start + cycle.horizon)]


def month_index_of(cycle: Cycle) -> int:
    return check_month(cycle.month)


def get_cycle(month: str) -> Cycle:
    check_month(month)
    cycle = crm_port.db.session.scalar(select(Cycle).where(Cycle.month == month))
    if cycle is None:
        raise crm_port.NotFound(_("no S&OP cycle for %(month)s", month=month))
    return cycle


def list_cycles() -> list[Cycle]:
    return list(crm_port.db.session.scalars(select(Cycle).order_by(Cycle.month.desc())))


def previous_cycle(cycle: Cycle) -> Cycle | None:
    return crm_port.db.session.scalar(
        select(Cycle).where(Cycle.month < cycle.month).order_by(Cycle.month.desc()).limit(1))


def open_cycle(actor, month: str, now: datetime, *, horizon: int = DEFAULT_HORIZON) -> Cycle:
    """Open the cycle of ``month`` and gather its data. Conflict when it exists already."""
    require_planner(actor)
    index = check_month(month)
    if index > month_index(now.date()):
        raise crm_port.ValidationFailed(_("a cycle reviews a month that has begun"),
                                        {"month": _("this month or an earlier one")})
    cycle = _open_once(period_text(index), getattr(actor, "id", None), now, horizon)
    if cycle is None:
        raise crm_port.Conflict(_("the %(month)s cycle is open already", month=period_text(index)))
    return cycle


def open_month_end_cycle(now: datetime) -> Cycle | None:
    """The month-end job: the cycle of the month just ended, opened and gathered; None when it
    exists (the job is idempotent; two workers racing end with one cycle)."""
    return _open_once(period_text(month_index(now.date()) - 1), None, now, DEFAULT_HORIZON)


def _open_once(month: str, actor_id: int | None, now: datetime, horizon: int) -> Cycle | None:
    """The new cycle, or None when ``month`` has one. Two openers racing (two workers, a
    planner and the job): the unique month makes the second wait for the first's commit, then
    fail, inside a savepoint, before anything else was written."""
    if crm_port.db.session.scalar(select(Cycle.id).where(Cycle.month == month)):
        return None
    savepoint = crm_port.db.session.begin_nested()
    try:
        cycle = _open(month, actor_id, now, horizon)
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        log.info("the %s cycle was opened meanwhile by someone else", month)
        return None
    return cycle


def _open(month: str, actor_id: int | None, now: datetime, horizon: int) -> Cycle:
    session = crm_port.db.session
    cycle = Cycle(month=month, horizon=horizon, opened_at=now, opened_by_id=actor_id)
    month_end = last_day(check_month(month))
    for position, step in enumerate(STEPS):
        _label, owner, due_days = STEP_PLAN[step]
        cycle.steps.append(CycleStep(step=step, position=position, owner_role=owner,
                                     due_on=month_end + timedelta(days=due_days), status="pending"))
    session.add(cycle)
    session.flush()
    _carry_families(cycle, now)
    gather(cycle, now)
    return cycle


def _carry_families(cycle: Cycle, now: datetime) -> None:
    """Each active family's supply facts, from the previous cycle when there is one."""
    before = previous_cycle(cycle)
    earlier = {}
    if before is not None:
        earlier = {f.family: f for f in crm_port.db.session.scalars(
            select(CycleFamily).where(CycleFamily.cycle_id == before.id))}
    for family in crm_port.product_families():
        if not family.is_active:
            continue
        old = earlier.get(family.code)
        crm_port.db.session.add(CycleFamily(
            cycle_id=cycle.id, family=family.code,
            strategy=old.strategy if old else STRATEGIES[1],
            target_inventory=old.target_inventory if old else None,
            opening_inventory=old.opening_inventory if old else 0,
            unit_price=old.unit_price if old else None,
            review_status="open", updated_at=now,
        ))
    crm_port.db.session.flush()


def gather(cycle: Cycle, now: datetime) -> None:
    """Data gathering, done by the system: the demand input frozen for the cycle's horizon as
    the pipeline stands when the cycle opens, each family with the probability source its
    backtest chose (``chosen``, issue #23) (the month-end job opens it hours after the month
    closed; a cycle opened by hand later sees the deals made since), the accuracy of past
    cycles and the actuals known; then the demand review is under way."""
    as_of = now.date()
    periods = horizon_periods(cycle)
    cycle.snapshot_id = take_snapshot(actor_id=None, now=now, start=periods[0], end=periods[-1],
                                      probabilities="chosen", as_of=as_of)
    cycle.gathering = {"as_of": as_of.isoformat(), "accuracy": _accuracy_summary(as_of),
                       "actuals": _actuals_summary(cycle.month)}
    cycle.gathered_at = now
    steps = {s.step: s for s in cycle.steps}
    _finish(steps["data_gathering"], None, now, "demand input snapshot, accuracy and actuals gathered")
    steps["demand_review"].status, steps["demand_review"].started_at = "in_progress", now
    crm_port.db.session.flush()


def _accuracy_summary(as_of: date) -> list[dict]:
    """Lag-1 WMAPE and bias per family of the pipeline-based forecast over the last six
    months: from month-end snapshots when there are, else rebuilt from the deal history."""
    report = accuracy_report(lags=(1,), months=6, as_of=as_of)
    best: dict[str, dict] = {}
    for cell in report.cells:
        if cell.forecast != "calibrated" or cell.lag != 1:
            continue
        if cell.family in best and best[cell.family]["origin"] == "snapshots":
            continue
        best[cell.family] = {"family": cell.family, "origin": cell.origin, "months": cell.months,
                             "wmape": cell.wmape, "bias": cell.bias}
    return sorted(best.values(), key=lambda item: item["family"])


def _actuals_summary(month: str) -> dict:
    """The month's actual orders per family (imported, or won deals' lines) and, per family,
    the last month of the past year with any: what the demand review starts from."""
    history = actuals_by_family(period_text(check_month(month) - 11), month)
    return {
        "month": month,
        "units": {family: months.get(month, 0.0) for family, months in history.items()},
        "last_month_with_orders": {family: max((p for p, u in months.items() if u > 0), default=None)
                                   for family, months in history.items()},
    }


# --- step transitions ----------------------------------------------------------------------

def advance_step(actor, month: str, step: str, action: str, now: datetime, *, note: str | None = None,
                 owner_id: int | None = None) -> CycleStep:
    """``start`` a step (the one before is done), ``complete`` it (executive meeting: once
    the plan is published), or ``reopen`` a done step (while the plan is not published)."""
    require_planner(actor)
    cycle = get_cycle(month)
    steps = {s.step: s for s in cycle.steps}
    if step not in steps:
        raise crm_port.ValidationFailed(_("unknown step"), {"step": _("one of %(choices)s", choices=", ".join(STEPS))})
    if action not in ACTIONS:
        raise crm_port.ValidationFailed(_("unknown action"), {"action": _("one of %(choices)s",
                                          choices=", ".join(ACTIONS))})
    target = steps[step]
    before = cycle.steps[target.position - 1] if target.position else None
    if note is not None:
        target.note = note.strip()[:2000] or None
    if owner_id is not None:
        target.owner_id = owner_id
    if action == "start":
        _start(target, before, now)
    elif action == "complete":
        if target.status == "pending":
            _start(target, before, now)
        if step == "executive_meeting" and not published_versions(cycle):
            raise crm_port.Conflict(_("publish the consensus plan before closing the executive meeting"))
        _finish(target, getattr(actor, "id", None), now, target.note)
    else:
        if target.status != "done":
            raise crm_port.Conflict(_("%(step)s is not done", step=_(STEP_PLAN[step][0])))
        if published_versions(cycle):
            raise crm_port.Conflict(_("the cycle's plan is published: open next month's cycle instead"))
        for later in cycle.steps[target.position:]:
            later.status, later.done_at, later.done_by_id = "pending", None, None
        target.status = "in_progress"
    crm_port.db.session.flush()
    return target


def _start(target: CycleStep, before: CycleStep | None, now: datetime) -> None:
    if target.status != "pending":
        raise crm_port.Conflict(_("%(step)s is %(status)s already", step=_(STEP_PLAN[target.step][0]),
                                status=crm_port.code_label(target.status, "sop_step_status").lower()))
    if before is not None and before.status != "done":
        raise crm_port.Conflict(_("%(step)s comes first", step=_(STEP_PLAN[before.step][0])))
    target.status, target.started_at = "in_progress", now


def _finish(target: CycleStep, actor_id: int | None, now: datetime, note: str | None) -> None:
    if target.status == "done":
        raise crm_port.Conflict(_("%(step)s is done already", step=_(STEP_PLAN[target.step][0])))
    target.status, target.done_at, target.done_by_id = "done", now, actor_id
    target.started_at = target.started_at or now
    target.note = note


def current_step(cycle: Cycle) -> CycleStep | None:
    return next((s for s in cycle.steps if s.status != "done"), None)


def published_versions(cycle: Cycle) -> list[PlanVersion]:
    return list(crm_port.db.session.scalars(
        select(PlanVersion).where(PlanVersion.cycle_id == cycle.id, PlanVersion.published_at.is_not(None))
        .order_by(PlanVersion.version)))


def month_first_day(period: str) -> date:
    return first_day(check_month(period))
