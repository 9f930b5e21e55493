"""The S&OP cycle's pages (blueprint ``sop`` at ``/planning/cycles``, mounted by the manifest):
the cycles, one cycle's steps, the demand review, the supply review with the finance view,
the pre-meeting and the executive meeting's one-page summary (print-ready).

Planners and admins change things; finance reads every page (the plan in money is theirs
too); sales users get 403. Thin callers of ``planning_bridge.sop.services``: read the form,
call a service, commit, redirect with a message (a refused change: its field errors)."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import ngettext
from flask_login import current_user

from planning_bridge.crm_port import (
    NotFound,
    ServiceError,
    code_label,
    db,
    product_families,
    roles,
    user_names,
    utcnow,
)
from planning_bridge.imports import MAX_BYTES
from planning_bridge.sop import services
from planning_bridge.supply import services as supply_services

log = logging.getLogger(__name__)

bp = Blueprint("sop", __name__, url_prefix="/planning/cycles")
PLANNERS = services.PLANNERS
READERS = services.MONEY_READERS
SHOWN_REJECTIONS = 200


def _cycle_or_404(month: str):
    try:
        return services.get_cycle(month)
    except (NotFound, ServiceError):
        abort(404)


def _refused(exc: ServiceError) -> None:
    db.session.rollback()
    details = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in (exc.fields or {}).items())
    flash(_("%(message)s — %(details)s", message=exc.message, details=details) if details else exc.message, "error")


def _done(message: str) -> None:
    db.session.commit()
    flash(message, "success")


def _back(month: str, page: str = "sop.cycle"):
    return redirect(url_for(page, month=month))


# --- cycles ------------------------------------------------------------------------------------

@bp.route("")
@roles(*READERS)
def cycles():
    listed = services.list_cycles()
    return render_template("planning/sop/cycles.html", cycles=listed, current=services.current_step,
                           labels=services.STEP_PLAN, default_month=_last_month(),
                           published={c.id: services.published_versions(c) for c in listed})


def _last_month() -> str:
    today = utcnow().date()
    return f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"


@bp.route("", methods=["POST"])
@roles(*PLANNERS)
def open_cycle():
    month = request.form.get("month", "").strip()
    try:
        cycle = services.open_cycle(current_user, month, utcnow())
    except ServiceError as exc:
        _refused(exc)
        return redirect(url_for("sop.cycles"))
    _done(_("The %(month)s cycle is open: the demand input is frozen and the demand review has begun.",
            month=cycle.month))
    log.info("S&OP cycle %s opened by user %s", cycle.month, current_user.id)
    return _back(cycle.month)


@bp.route("/<month>")
@roles(*READERS)
def cycle(month: str):
    found = _cycle_or_404(month)
    people = user_names([s.owner_id for s in found.steps] + [s.done_by_id for s in found.steps])
    return render_template("planning/sop/cycle.html", cycle=found, labels=services.STEP_PLAN, people=people,
                           current=services.current_step(found), versions=services.versions(found),
                           may_change=current_user.role in PLANNERS)


@bp.route("/<month>/steps/<step>", methods=["POST"])
@roles(*PLANNERS)
def advance(month: str, step: str):
    _cycle_or_404(month)
    action = request.form.get("action", "")
    try:
        services.advance_step(current_user, month, step, action, utcnow(), note=request.form.get("note"))
    except ServiceError as exc:
        _refused(exc)
        return _back(month)
    label = _(services.STEP_PLAN.get(step, (step,))[0])
    outcome = {"start": _("started"), "complete": _("done"), "reopen": _("reopened")}.get(action, action)
    _done(_("%(step)s: %(outcome)s.", step=label, outcome=outcome))
    return _back(month)


# --- demand review --------------------------------------------------------------------------

def _grid(cells, value):
    """family → period → value(cell), for tables with a column per month."""
    grid: dict[str, dict[str, object]] = defaultdict(dict)
    for cell in cells:
        grid[cell.family][cell.period] = value(cell)
    return grid


@bp.route("/<month>/demand")
@roles(*READERS)
def demand(month: str):
    found = _cycle_or_404(month)
    cells = services.demand_plan(found)
    history = services.override_history(found)
    return render_template(
        "planning/sop/demand.html", cycle=found, periods=services.horizon_periods(found),
        cells={(c.family, c.period): c for c in cells}, families=list(services.cycle_families(found)),
        prices=services.family_prices(found), history=history,
        people=user_names([o.created_by_id for o in history]), may_change=current_user.role in PLANNERS,
        names={f.code: f.name for f in product_families()},
        totals={code: sum((c.demand_units for c in cells if c.family == code), 0)
                for code in services.cycle_families(found)},
    )


@bp.route("/<month>/overrides", methods=["POST"])
@roles(*PLANNERS)
def add_override(month: str):
    _cycle_or_404(month)
    form = request.form
    try:
        override = services.add_override(current_user, month, form.get("family", ""), form.get("period", ""),
                                         form.get("units", ""), form.get("reason", ""), utcnow())
    except ServiceError as exc:
        _refused(exc)
        return _back(month, "sop.demand")
    _done(_("%(family)s %(period)s: %(units)s units (was %(was)s).", family=override.family, period=override.period,
            units=f"{override.units.normalize():f}", was=f"{override.replaced_units.normalize():f}"))
    return _back(month, "sop.demand")


# --- supply review and finance ----------------------------------------------------------------

@bp.route("/<month>/supply")
@roles(*READERS)
def supply(month: str):
    found = _cycle_or_404(month)
    cells = services.demand_plan(found)
    money = services.finance_view(found, cells)
    return render_template(
        "planning/sop/supply.html", cycle=found, periods=services.horizon_periods(found),
        supply=services.supply_view(found, cells), families=services.cycle_families(found),
        finance=_grid(money, lambda c: c), strategies=services.STRATEGIES,
        names={f.code: f.name for f in product_families()}, may_change=current_user.role in PLANNERS,
        finance_totals=_finance_totals(money), limit_mb=MAX_BYTES // 2**20,
        in_use=supply_services.plans_in_use(month),
    )


@dataclass
class MoneyTotal:
    plan: Decimal = Decimal(0)
    business: Decimal = Decimal(0)
    known: bool = False  # whether any business-plan month was imported


def _finance_totals(money) -> dict[str, MoneyTotal]:
    totals: dict[str, MoneyTotal] = {}
    for cell in money:
        entry = totals.setdefault(cell.family, MoneyTotal())
        entry.plan += cell.plan_revenue or 0
        if cell.business_plan_revenue is not None:
            entry.business += cell.business_plan_revenue
            entry.known = True
    return totals


@bp.route("/<month>/families/<code>", methods=["POST"])
@roles(*PLANNERS)
def set_family(month: str, code: str):
    _cycle_or_404(month)
    form = request.form
    try:
        services.set_family_supply(current_user, month, code, utcnow(), strategy=form.get("strategy", ""),
                                   target_inventory=form.get("target_inventory"),
                                   opening_inventory=form.get("opening_inventory"), unit_price=form.get("unit_price"))
    except ServiceError as exc:
        _refused(exc)
        return _back(month, "sop.supply")
    _done(_("%(family)s: strategy, inventory and price saved.", family=code))
    return _back(month, "sop.supply")


@bp.route("/<month>/capacity/<code>", methods=["POST"])
@roles(*PLANNERS)
def set_capacity(month: str, code: str):
    found = _cycle_or_404(month)
    rows = [{"family": code, "period": period, "units": request.form.get(f"capacity-{period}", "").strip()}
            for period in services.horizon_periods(found) if f"capacity-{period}" in request.form]
    try:
        saved = services.set_capacity(current_user, month, rows, utcnow())
    except ServiceError as exc:
        _refused(exc)
        return _back(month, "sop.supply")
    _done(ngettext("%(family)s: capacity saved for %(num)s month.", "%(family)s: capacity saved for %(num)s months.",
                   saved, family=code))
    return _back(month, "sop.supply")


@bp.route("/<month>/business-plan", methods=["POST"])
@roles(*PLANNERS)
def import_business_plan(month: str):
    _cycle_or_404(month)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the business plan's CSV file (family,period,revenue)."), "error")
        return _back(month, "sop.supply")
    result = services.import_business_plan(current_user, upload.stream, utcnow())
    if result.rejected:
        db.session.rollback()
        flash(ngettext("%(num)s row rejected; nothing was imported.", "%(num)s rows rejected; nothing was imported.",
                       len(result.rejected)), "error")
        for rejection in result.rejected[:SHOWN_REJECTIONS]:
            flash(_("line %(line)s: %(message)s", line=rejection.line, message=rejection.message), "error")
        return _back(month, "sop.supply")
    _done(ngettext("Business plan imported: %(num)s row, %(replaced)s replaced.",
                   "Business plan imported: %(num)s rows, %(replaced)s replaced.", result.accepted,
                   replaced=result.replaced))
    return _back(month, "sop.supply")


# --- pre-meeting and executive meeting ------------------------------------------------------

@bp.route("/<month>/pre-meeting")
@roles(*READERS)
def pre_meeting(month: str):
    found = _cycle_or_404(month)
    summaries = services.executive_summary(found)
    return render_template("planning/sop/pre_meeting.html", cycle=found, summaries=summaries,
                           agenda=services.agenda(found), may_change=current_user.role in PLANNERS)


@bp.route("/<month>/reviews/<code>", methods=["POST"])
@roles(*PLANNERS)
def review(month: str, code: str):
    _cycle_or_404(month)
    status = request.form.get("status", "")
    try:
        services.review_family(current_user, month, code, status, request.form.get("note"), utcnow())
    except ServiceError as exc:
        _refused(exc)
        return _back(month, "sop.pre_meeting")
    _done(_("%(family)s: %(status)s.", family=code, status=code_label(status, "sop_review_status")))
    return _back(month, "sop.pre_meeting")


@bp.route("/<month>/executive")
@roles(*READERS)
def executive(month: str):
    found = _cycle_or_404(month)
    versions = services.versions(found)
    return render_template("planning/sop/executive.html", cycle=found, summaries=services.executive_summary(found),
                           agenda=services.agenda(found), versions=versions,
                           published=[v for v in versions if v.published_at is not None],
                           decisions=services.decisions(found), may_change=current_user.role in PLANNERS,
                           people=user_names([v.published_by_id for v in versions]))


@bp.route("/<month>/decisions", methods=["POST"])
@roles(*PLANNERS)
def add_decision(month: str):
    _cycle_or_404(month)
    try:
        services.record_decision(current_user, month, request.form.get("family") or None,
                                 request.form.get("text", ""), utcnow())
    except ServiceError as exc:
        _refused(exc)
        return _back(month, "sop.executive")
    _done(_("Decision recorded."))
    return _back(month, "sop.executive")


@bp.route("/<month>/publish", methods=["POST"])
@roles(*PLANNERS)
def publish(month: str):
    _cycle_or_404(month)
    try:
        version = services.publish_cycle(current_user, month, utcnow())
    except ServiceError as exc:
        _refused(exc)
        return _back(month, "sop.executive")
    _done(_("Version %(version)s of the %(month)s plan is published: sales now sell to it.",
            version=version.version, month=month))
    log.info("S&OP plan %s v%s published by user %s", month, version.version, current_user.id)
    return _back(month, "sop.executive")


@bp.route("/<month>/plans", methods=["POST"])
@roles(*PLANNERS)
def import_plan(month: str):
    _cycle_or_404(month)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the consensus plan's CSV file."), "error")
        return _back(month, "sop.executive")
    imported = services.import_plan(current_user, month, upload.stream, utcnow(),
                                    publish_it=request.form.get("publish") == "1")
    if imported.version is None:
        db.session.rollback()
        flash(ngettext("%(num)s row rejected; nothing was imported.", "%(num)s rows rejected; nothing was imported.",
                       len(imported.result.rejected)), "error")
        for rejection in imported.result.rejected[:SHOWN_REJECTIONS]:
            flash(_("line %(line)s: %(message)s", line=rejection.line, message=rejection.message), "error")
        return _back(month, "sop.executive")
    if imported.version.published_at:
        _done(_("Version %(version)s imported (%(count)s rows) and published.", version=imported.version.version,
                count=imported.result.accepted))
    else:
        _done(_("Version %(version)s imported (%(count)s rows) and saved as a draft.",
                version=imported.version.version, count=imported.result.accepted))
    return _back(month, "sop.executive")
