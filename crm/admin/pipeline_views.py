"""Administration of product families (the S&OP planning units) and pipeline stages, on the
admin blueprint."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

import crm.deals.services as services
from crm.admin.forms import FamilyForm, StageForm
from crm.admin.views import bp
from crm.errors import ServiceError, ValidationFailed
from crm.i18n import _ as gettext
from crm.web.access import roles
from crm.web.formhelpers import (
    abort_for,
    apply_service_errors,
    commit_or_abort,
    commit_or_flash,
    commit_or_show_errors,
    too_large,
)

PERCENT_ERROR = "a percentage between 0 and 100"


# --- product families -------------------------------------------------------------------

def _family_data(form: FamilyForm) -> dict:
    return {"code": (form.code.data or "").strip(), "name": form.name.data, "unit": form.unit.data or "unit",
            "lead_time_days": (form.lead_time_days.data or "0").strip()}


@bp.route("/admin/families", methods=["GET", "POST"])
@roles("admin")
def families():
    form = FamilyForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            data = _family_data(form)
            family, status = commit_or_show_errors(form, lambda: services.create_family(current_user, data))
            if family is not None:
                flash(gettext("Product family %(code)s added.", code=family.code), "success")
                return redirect(url_for(".families"))
    return render_template("admin/families.html", form=form, families=services.list_families(),
                           usage=services.family_usage()), status


@bp.route("/admin/families/<int:family_id>/edit", methods=["GET", "POST"])
@roles("admin")
def edit_family(family_id: int):
    try:
        family = services.get_family(family_id)
    except ServiceError as exc:
        abort_for(exc)
    form = FamilyForm(data={"code": family.code, "name": family.name, "unit": family.unit,
                            "lead_time_days": str(family.lead_time_days)})
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            data = _family_data(form)
            saved, status = commit_or_show_errors(
                form, lambda: services.update_family(current_user, family.id, data))
            if saved is not None:
                flash(gettext("Product family %(code)s saved.", code=saved.code), "success")
                return redirect(url_for(".families"))
    return render_template("admin/family_form.html", form=form, family=family), status


@bp.route("/admin/families/<int:family_id>/active", methods=["POST"])
@roles("admin")
def toggle_family(family_id: int):
    active = request.form.get("active") == "1"
    family = commit_or_abort(lambda: services.update_family(current_user, family_id, {"is_active": active}))
    flash(gettext("%(code)s reactivated.", code=family.code) if active else
          gettext("%(code)s deactivated: no new deal lines can use it.", code=family.code), "success")
    return redirect(url_for(".families"))


@bp.route("/admin/families/<int:family_id>/delete", methods=["POST"])
@roles("admin")
def delete_family(family_id: int):
    _, done = commit_or_flash(lambda: services.delete_family(current_user, family_id))
    if done:
        flash(gettext("Product family deleted."), "success")
    return redirect(url_for(".families"))


# --- pipeline stages --------------------------------------------------------------------

def _probability(form: StageForm) -> Decimal | str:
    """The percentage typed as a 0-1 probability; unparsable text goes on for the service to
    reject (its message is then reworded in percent)."""
    raw = (form.probability.data or "").strip().rstrip("%")
    try:
        return Decimal(raw) / 100
    except InvalidOperation:
        return raw


def _position(form: StageForm) -> int | None:
    raw = (form.position.data or "").strip()
    if not raw:
        return None
    if not raw.lstrip("-").isdigit() or too_large(raw):
        raise ValidationFailed(gettext("invalid stage"), {"position": gettext("a whole number")})
    return int(raw)


def _stage_errors(form: StageForm, exc: ServiceError) -> None:
    """The service's errors on the form, its probability message reworded in percent."""
    if "probability" in exc.fields:
        exc.fields["probability"] = PERCENT_ERROR
    apply_service_errors(form, exc)


def _save_stage(form: StageForm, stage=None) -> int:
    """Save from the form; returns 200, or the error status with the errors on the form."""
    _, status = commit_or_show_errors(form, lambda: services.save_stage(
        current_user, name=form.name.data or "", probability=_probability(form),
        position=_position(form), stage_id=stage.id if stage else None,
        is_active=stage.is_active if stage else True,
    ), apply_errors=_stage_errors)
    return status


@bp.route("/admin/stages", methods=["GET", "POST"])
@roles("admin")
def stages():
    form = StageForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            status = _save_stage(form)
            if status == 200:
                flash(gettext("Stage %(data)s added.", data=form.name.data.strip()), "success")
                return redirect(url_for(".stages"))
    return render_template("admin/stages.html", form=form, stages=services.list_stages(active_only=False)), status


@bp.route("/admin/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@roles("admin")
def edit_stage(stage_id: int):
    try:
        stage = services.get_stage(stage_id)
    except ServiceError as exc:
        abort_for(exc)
    form = StageForm(data={"name": stage.name, "probability": f"{float(stage.probability * 100):g}",
                           "position": str(stage.position)})
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            status = _save_stage(form, stage)
            if status == 200:
                flash(gettext("Stage saved."), "success")
                return redirect(url_for(".stages"))
    return render_template("admin/stage_form.html", form=form, stage=stage), status


@bp.route("/admin/stages/<int:stage_id>/active", methods=["POST"])
@roles("admin")
def toggle_stage(stage_id: int):
    active = request.form.get("active") == "1"
    stage, done = commit_or_flash(lambda: services.set_stage_active(current_user, stage_id, active))
    if done:
        flash(gettext("Stage %(stage)s %(deactivated)s.",
                      stage=stage.name, deactivated='reactivated' if active else 'deactivated'), "success")
    return redirect(url_for(".stages"))
