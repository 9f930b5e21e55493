"""Snapshots: the list, taking one on demand (the month-end job takes the scheduled ones), and
one snapshot's frozen demand input, on screen and as CSV."""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_login import current_user

from planning_bridge import services
from planning_bridge.api import csv_response
from planning_bridge.contracts import PROBABILITY_SOURCES
from planning_bridge.crm_port import NotFound, ServiceError, db, product_families, roles, utcnow
from planning_bridge.pages import PLANNERS, bp
from planning_bridge.pages.demand import family_blocks_for
from planning_bridge.pages.filters import read_filters

log = logging.getLogger(__name__)


def _snapshot_or_404(snapshot_id: int):
    try:
        return services.get_snapshot(snapshot_id)
    except NotFound:
        abort(404)


@bp.route("/snapshots")
@roles(*PLANNERS)
def snapshots():
    filters = read_filters(request.args, [])
    return render_template("planning/snapshots.html", snapshots=services.list_snapshots(), filters=filters,
                           sources=PROBABILITY_SOURCES)


@bp.route("/snapshots", methods=["POST"])
@roles(*PLANNERS)
def take_snapshot():
    """Freeze the demand input for the months and probability source asked for."""
    filters = read_filters(request.form, [])
    if filters.errors:
        for message in filters.errors.values():
            flash(message, "error")
        return redirect(url_for("planning.snapshots"))
    try:
        snapshot_id = services.take_snapshot(
            actor_id=current_user.id, now=utcnow(), start=filters.start, end=filters.end,
            probabilities=filters.probabilities, slip_adjusted=filters.slip_adjusted,
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("planning.snapshots"))
    db.session.commit()
    log.info("snapshot %s taken by user %s", snapshot_id, current_user.id)
    facts = {"id": snapshot_id, "start": filters.start, "end": filters.end, "probabilities": filters.probabilities}
    flash(_("Snapshot #%(id)s taken: %(start)s to %(end)s, %(probabilities)s probabilities, slip-adjusted timing.",
            **facts) if filters.slip_adjusted else
          _("Snapshot #%(id)s taken: %(start)s to %(end)s, %(probabilities)s probabilities.", **facts), "success")
    return redirect(url_for("planning.show_snapshot", snapshot_id=snapshot_id))


def _rows(snapshot_id: int):
    try:
        return services.snapshot_rows(snapshot_id)
    except NotFound:
        abort(404)


@bp.route("/snapshots/<int:snapshot_id>")
@roles(*PLANNERS)
def show_snapshot(snapshot_id: int):
    snapshot = _snapshot_or_404(snapshot_id)
    rows = _rows(snapshot_id)
    families = {family.code: family for family in product_families()}
    blocks = family_blocks_for(rows, families)
    periods = sorted({row.period for row in rows})
    period_totals = {p: sum(r.demand_input_units for r in rows if r.period == p) for p in periods}
    return render_template("planning/snapshot.html", snapshot=snapshot, blocks=blocks, periods=periods,
                           period_totals=period_totals, source_choice=services.snapshot_source_choice(snapshot_id))


@bp.route("/snapshots/<int:snapshot_id>.csv")
@roles(*PLANNERS)
def snapshot_download(snapshot_id: int):
    snapshot = _snapshot_or_404(snapshot_id)
    return csv_response(_rows(snapshot_id), f"snapshot-{snapshot.id}.csv", snapshot.probabilities_used)
