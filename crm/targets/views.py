"""Pages of the targets feature: a manager's team page (target vs won vs weighted pipeline per
family and month, per rep) and the allocation page where the manager splits the team's target
for one family and month. The rep's own targets are a panel of My day (``crm.calls``), built
by ``crm.targets.services.my_day_targets``. Views parse, call the services, commit and render."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.errors import ServiceError
from crm.i18n import _
from crm.targets import services
from crm.targets.inputs import parse_month
from crm.timeutil import utcnow
from crm.web.access import roles
from crm.web.formatting import format_day
from crm.web.formhelpers import CrmForm, abort_for, commit_or_show_errors, int_arg, text_arg

bp = Blueprint("targets", __name__)


@bp.route("/targets/team")
@roles("manager", "admin", "planner", "finance")
def team():
    """The team's targets for this month and the next two; admins and planners pick a team."""
    now = utcnow()
    manager_id = int_arg("manager_id")
    managers = services.managers() if current_user.role != "manager" else []
    if manager_id is None and current_user.role != "manager":
        if not managers:
            return render_template("targets/team.html", view=None, managers=managers, months=[])
        manager_id = managers[0].id
    try:
        view = services.team_targets(current_user, manager_id, services.coming_months(current_user, now), now)
    except ServiceError as exc:
        abort_for(exc)
    return render_template("targets/team.html", view=view, managers=managers, months=view.months)


def _cell_args():
    """family and month of the allocation asked for (404 on junk: a link, not a form)."""
    family = text_arg("family", 40)
    try:
        period = parse_month(request.values.get("period", ""))
    except ValueError:
        period = None
    return family, period


@bp.route("/targets/allocate", methods=["GET", "POST"])
@roles("manager", "admin")
def allocate():
    now = utcnow()
    family, period = _cell_args()
    manager_id = int_arg("manager_id")
    if not family or period is None:
        flash(_("Pick a family and month from the team page to allocate."), "error")
        return redirect(url_for(".team", manager_id=manager_id))
    form = CrmForm()
    status = 200
    if request.method == "POST":
        units = {key.removeprefix("units-"): value for key, value in request.form.items() if key.startswith("units-")}
        data = {"family": family, "period": request.form.get("period", ""), "units": units}
        saved, status = commit_or_show_errors(
            form, lambda: services.save_allocation(current_user, manager_id, data, now)) if form.validate_on_submit() \
            else (None, 400)
        if saved is not None:
            flash(_("Allocation of %(family)s for %(period)s saved.",
                    family=family, period=format_day(period, "short_month")), "success")
            return redirect(url_for(".team", manager_id=manager_id))
    try:
        sheet = services.allocation_sheet(current_user, manager_id, family, period, now)
    except ServiceError as exc:
        abort_for(exc)
    return render_template("targets/allocate.html", sheet=sheet, form=form, posted=request.form), status
