"""Pages of the scoring feature: "in the market", the admin's rules and settings, and the
score panel on the contact page. Views parse, call ``crm.scoring.services``, commit, render;
the two long admin actions (recompute every score, train the model) are queued for the worker
(``crm/scoring/background.py``) and followed on the job's status page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.contacts.services import ContactPanel
from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import _ as gettext
from crm.jobs.runner import enqueue, open_job
from crm.scoring import background, services
from crm.scoring.forms import KIND_LABELS, FitRuleForm, RuleForm, SettingsForm
from crm.scoring.rules import get_settings
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.formhelpers import (
    CrmForm,
    commit_or_abort,
    commit_or_show_errors,
    int_arg,
    sales_users,
)

bp = Blueprint("scoring", __name__)


def _owner_filter() -> int | None:
    owner = request.args.get("owner", "me" if current_user.role == "rep" else "")
    return current_user.id if owner == "me" else int_arg("owner")


@bp.route("/scoring/in-market")
@roles(*SALES)
def in_market():
    now = utcnow()
    owner_id = _owner_filter()
    page = services.in_market(owner_id=owner_id, now=now, page=int_arg("page") or 1)
    converted = services.newly_converted(owner_id=owner_id, now=now) if page.page == 1 else []
    return render_template("scoring/in_market.html", page=page, converted=converted, owners=sales_users(),
                           owner=request.args.get("owner", "me" if current_user.role == "rep" else ""))


# --- admin --------------------------------------------------------------------------------

def _render_admin(settings_form=None, rule_form=None, fit_form=None, status=200):
    settings = get_settings()
    settings_form = settings_form or SettingsForm(formdata=None, data={
        "half_life_days": f"{settings.half_life_days:g}", "saturation_points": f"{settings.saturation_points:g}"})
    page = render_template(
        "scoring/admin.html", settings=settings, settings_form=settings_form,
        rule_form=rule_form or RuleForm(formdata=None), fit_form=fit_form or FitRuleForm(formdata=None),
        rules=services.list_rules(), fit_rules=services.list_fit_rules(), models=services.list_models(),
        kind_labels=KIND_LABELS, action_form=CrmForm(formdata=None),
    )
    db.session.commit()  # the settings row and default rules on first visit
    return page, status


@bp.route("/scoring/admin")
@roles("admin")
def admin():
    return _render_admin()


@bp.route("/scoring/admin/settings", methods=["POST"])
@roles("admin")
def save_settings():
    form = SettingsForm()
    if form.validate_on_submit():
        _, status = commit_or_show_errors(form, lambda: services.save_settings(form.data, utcnow()))
        if status == 200:
            flash(gettext("Settings saved. Scores are recomputed in the background (or now, below)."), "success")
            return redirect(url_for(".admin"))
    return _render_admin(settings_form=form, status=422)


@bp.route("/scoring/admin/rules", methods=["POST"])
@roles("admin")
def add_rule():
    form = RuleForm()
    if form.validate_on_submit():
        _, status = commit_or_show_errors(form, lambda: services.save_rule(form.data, utcnow()))
        if status == 200:
            flash(gettext("Rule added."), "success")
            return redirect(url_for(".admin"))
    return _render_admin(rule_form=form, status=422)


@bp.route("/scoring/admin/rules/<int:rule_id>/delete", methods=["POST"])
@roles("admin")
def delete_rule(rule_id: int):
    if CrmForm().validate_on_submit():
        commit_or_abort(lambda: services.delete_rule(rule_id, utcnow()))
        flash(gettext("Rule deleted."), "success")
    return redirect(url_for(".admin"))


@bp.route("/scoring/admin/fit-rules", methods=["POST"])
@roles("admin")
def add_fit_rule():
    form = FitRuleForm()
    if form.validate_on_submit():
        _, status = commit_or_show_errors(form, lambda: services.save_fit_rule(form.data, utcnow()))
        if status == 200:
            flash(gettext("Fit rule added."), "success")
            return redirect(url_for(".admin"))
    return _render_admin(fit_form=form, status=422)


@bp.route("/scoring/admin/fit-rules/<int:rule_id>/delete", methods=["POST"])
@roles("admin")
def delete_fit_rule(rule_id: int):
    if CrmForm().validate_on_submit():
        commit_or_abort(lambda: services.delete_fit_rule(rule_id, utcnow()))
        flash(gettext("Fit rule deleted."), "success")
    return redirect(url_for(".admin"))


@bp.route("/scoring/admin/recompute", methods=["POST"])
@roles("admin")
def recompute():
    if CrmForm().validate_on_submit():
        return _queue(background.RECOMPUTE, "Recomputing every score in the background.")
    return redirect(url_for(".admin"))


@bp.route("/scoring/admin/train", methods=["POST"])
@roles("admin")
def train():
    if CrmForm().validate_on_submit():
        return _queue(background.TRAIN, "Training the model in the background.")
    return redirect(url_for(".admin"))


def _queue(kind: str, message: str):
    """Queue the worker job (one at a time of each kind: a second click shows the first) and
    follow it on its status page."""
    job = open_job(kind)
    if job is None:
        job = enqueue(kind, current_user, {}, utcnow(), total=1)
        db.session.commit()
        flash(message, "success")
    else:
        flash(gettext("Already queued: here is its progress."), "success")
    return redirect(url_for("jobs.show_job", job_id=job.id), 303)


# --- the contact page panel ---------------------------------------------------------------

def sparkline(values: list[float], width: int = 160, height: int = 32) -> str:
    """SVG polyline points for a 0-100 series (drawn server-side: no inline script)."""
    if not values:
        return ""
    step = width / max(1, len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - (v / 100.0) * height:.1f}" for i, v in enumerate(values))


def _panel(contact, viewer, now):
    try:
        detail = services.score_detail(contact.id, now)
    except ServiceError:
        return {"detail": None}
    return {"detail": detail, "points": sparkline(detail.trend),
            "change": round(detail.trend[-1] - detail.trend[0], 1) if detail.trend else 0}


CONTACT_PANEL = ContactPanel(key="score", template="scoring/_contact_panel.html", load=_panel,
                             column="side", order=10)
