"""Family settings (how baseline and pipeline combine, the commit threshold) and the review of
outlier months in a family's actuals (accept the suggested value, override it, or keep the
original; the original is always kept)."""
from __future__ import annotations

import logging
import math

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_login import current_user

from planning_bridge import services
from planning_bridge.contracts import COMBINE_RULES
from planning_bridge.crm_port import ServiceError, db, pipeline_stages, roles, utcnow
from planning_bridge.pages import PLANNERS, bp
from planning_bridge.pages.rules import RULE_EXPLANATIONS, rule_label
from planning_bridge.periods import parse_period

log = logging.getLogger(__name__)

OUTLIER_ACTIONS = ("accept", "override", "keep", "reset")
MAX_UNITS = 1e12  # beyond any real month of orders; keeps junk out of float columns
FIRST_PERIOD, LAST_PERIOD = "1900-01", "2999-12"  # every month the bridge can hold


def _actor():
    """The signed-in user itself (the services check its role), not the request-bound proxy."""
    return current_user._get_current_object()


def _settings_by_family() -> dict:
    return {setting.family: setting for setting in services.family_settings()}


@bp.route("/settings")
@roles(*PLANNERS)
def settings():
    stages = [stage for stage in pipeline_stages() if stage.is_active]
    return render_template("planning/settings.html", settings=list(_settings_by_family().values()),
                           rules=COMBINE_RULES, rule_label=rule_label, explanations=RULE_EXPLANATIONS,
                           stages=stages)


@bp.route("/settings/<family>", methods=["POST"])
@roles(*PLANNERS)
def save_setting(family: str):
    if family not in _settings_by_family():
        abort(404)
    rule = request.form.get("combine_rule", "")
    commit_stage = request.form.get("commit_stage") or None
    try:
        saved = services.save_family_setting(_actor(), family, rule, commit_stage, now=utcnow())
    except ServiceError as exc:
        db.session.rollback()
        flash(f"{family}: {exc.message}", "error")
        return redirect(url_for("planning.settings"))
    db.session.commit()
    flash(_("%(family)s: %(rule)s, commit from %(stage)s.", family=family,
            rule=rule_label(saved.combine_rule).lower(), stage=saved.commit_stage or _("no stage")), "success")
    return redirect(url_for("planning.settings"))


@bp.route("/settings/<family>/outliers")
@roles(*PLANNERS)
def outliers(family: str):
    setting = _settings_by_family().get(family)
    if setting is None:
        abort(404)
    flags = services.list_outliers(family)
    actuals = services.actuals_by_family(FIRST_PERIOD, LAST_PERIOD).get(family, {})
    return render_template("planning/outliers.html", setting=setting, flags=flags, month_count=len(actuals),
                           flagged_count=sum(1 for f in flags if f.flagged),
                           review_count=sum(1 for f in flags if f.needs_review))


def _decision_text(action: str, value: float | None) -> str:
    if action == "accept":
        return _("the suggested value replaces the outlier.")
    if action == "override":
        return _("the baseline now reads %(units)s units; the original is kept.", units=f"{value:g}")
    if action == "keep":
        return _("the original value is kept.")
    return _("decision withdrawn.")


def _override_value(text: str | None) -> tuple[float | None, str | None]:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None, _("Enter the replacement as a number of units, such as 120 or 87.5.")
    if not math.isfinite(value) or value < 0 or value > MAX_UNITS:
        return None, _("The replacement must be zero or more units.")
    return value, None


@bp.route("/settings/<family>/outliers", methods=["POST"])
@roles(*PLANNERS)
def correct_month(family: str):
    """Replace any month's actual (flagged or not), e.g. a known booking error."""
    if family not in _settings_by_family():
        abort(404)
    period = (request.form.get("period") or "").strip()
    if parse_period(period) is None:
        flash(_("“%(text)s” is not a month written as YYYY-MM.", text=period[:20]), "error")
        return redirect(url_for("planning.outliers", family=family))
    return _decide(family, period, "override")


@bp.route("/settings/<family>/outliers/<period>", methods=["POST"])
@roles(*PLANNERS)
def decide_outlier(family: str, period: str):
    if family not in _settings_by_family() or parse_period(period) is None:
        abort(404)
    return _decide(family, period, request.form.get("action"))


def _decide(family: str, period: str, action: str | None):
    back = redirect(url_for("planning.outliers", family=family))
    if action not in OUTLIER_ACTIONS:
        flash(_("Choose accept, override or keep the original."), "error")
        return back
    value = None
    if action == "override":
        value, problem = _override_value(request.form.get("value"))
        if problem:
            flash(f"{period}: {problem}", "error")
            return back
    try:
        if action == "reset":
            services.clear_outlier_override(_actor(), family, period)
        else:
            services.set_outlier_override(_actor(), family, period, accepted=action != "keep", value=value,
                                          now=utcnow())
    except ServiceError as exc:
        db.session.rollback()
        flash(f"{period}: {exc.message}", "error")
        return back
    db.session.commit()
    flash(f"{family} {period}: {_decision_text(action, value)}", "success")
    return back
