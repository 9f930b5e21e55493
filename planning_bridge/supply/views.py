"""Supply scenarios' pages (blueprint ``supply`` under ``/planning``, mounted by the manifest):

* ``/planning/supply``: the families, each linking to its page;
* ``/planning/supply/families/<code>``: the family page: its cost settings (planners edit) and
  the scenario builder prefilled from the consensus plan in force;
* ``/planning/cycles/<month>/supply/<code>``: the same builder in a cycle's supply review,
  prefilled from the cycle's demand plan, capacity and supply facts, with "use this plan".

The builder is a GET form (running a scenario changes nothing); results show the strategies
side by side, an SVG chart per plan and the promotions against the base case. Planners and
admins change things; finance reads and runs scenarios. Thin callers of ``services``."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_login import current_user

from planning_bridge.crm_port import (
    NotFound,
    ServiceError,
    ValidationFailed,
    code_label,
    db,
    product_families,
    roles,
    utcnow,
)
from planning_bridge.supply import services
from planning_bridge.supply.chart import plan_chart
from planning_bridge.supply.forms import form_values, scenario_from_form
from planning_bridge.supply.model import COST_PARTS, PricedPlan

bp = Blueprint("supply", __name__, url_prefix="/planning")
MAX_SCENARIO_CHARS = 200_000


def _families() -> dict[str, str]:
    return {f.code: f.name for f in product_families()}


def _family_or_404(code: str) -> str:
    if code not in _families():
        abort(404)
    return code


def _run(scenario: dict):
    """The results of the scenario, or (None, errors) when it is invalid or has no plan."""
    try:
        body = services.parse_scenario(scenario)
        return body, services.run_aggregate_plan(body), None
    except ValidationFailed as exc:
        return None, None, exc


def _page(template_scenario: dict, *, code: str, cycle_month: str | None = None, source: str | None = None,
          chosen=None, history=()):
    submitted = "run" in request.args
    scenario = scenario_from_form(request.args) if submitted else template_scenario
    body, result, error = _run(scenario) if submitted or template_scenario["demand"] else (None, None, None)
    charts = {name: plan_chart(plan) for name, plan in (result.strategies.items() if result else ())
              if isinstance(plan, PricedPlan)}
    return render_template(
        "planning/supply/scenario.html", code=code, name=_families().get(code, code), cycle_month=cycle_month,
        values=form_values(template_scenario) if not submitted else _resubmitted(scenario, template_scenario),
        result=result, error=error, charts=charts, cost_parts=COST_PARTS, source=source,
        scenario_json=json.dumps(body.model_dump(mode="json")) if body else None,
        settings=services.family_costs(code), may_change=current_user.role in services.PLANNERS,
        chosen=chosen, history=history,
    )


def _resubmitted(scenario: dict, fallback: dict) -> dict:
    """What the planner typed, back in the form (even when invalid)."""
    try:
        return form_values(scenario)
    except (TypeError, ValueError, KeyError):
        return form_values(fallback)


@bp.route("/supply")
@roles(*services.READERS)
def families():
    return render_template("planning/supply/families.html", families=product_families())


@bp.route("/supply/families/<code>")
@roles(*services.READERS)
def family(code: str):
    _family_or_404(code)
    scenario, source = services.family_scenario(code, utcnow())
    return _page(scenario, code=code, source=source)


@bp.route("/supply/families/<code>/costs", methods=["POST"])
@roles(*services.PLANNERS)
def save_costs(code: str):
    _family_or_404(code)
    values = {name: request.form.get(name, "") for name in services.SETTING_FIELDS}
    values["integer_workers"] = request.form.get("integer_workers", "")
    try:
        services.save_family_costs(current_user, code, values, utcnow())
    except ServiceError as exc:
        db.session.rollback()
        details = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in (exc.fields or {}).items())
        flash(f"{exc.message}{' — ' + details if details else ''}", "error")
        return redirect(url_for("supply.family", code=code))
    db.session.commit()
    flash(_("%(code)s: cost settings saved.", code=code), "success")
    return redirect(url_for("supply.family", code=code))


@bp.route("/cycles/<month>/supply/<code>")
@roles(*services.READERS)
def cycle_scenario(month: str, code: str):
    try:
        scenario = services.cycle_scenario(month, code)
        history = services.chosen_plans(month, code)
    except (NotFound, ServiceError):
        abort(404)
    return _page(scenario, code=code, cycle_month=month, chosen=history[0] if history else None, history=history)


@bp.route("/cycles/<month>/supply/<code>/use", methods=["POST"])
@roles(*services.PLANNERS)
def use_plan(month: str, code: str):
    raw = request.form.get("scenario", "")
    back = redirect(url_for("supply.cycle_scenario", month=month, code=code))
    try:
        if len(raw) > MAX_SCENARIO_CHARS:
            raise ValidationFailed(_("the scenario is too large"),
                                   {"scenario": _("at most %(max)s characters", max=f"{MAX_SCENARIO_CHARS:,}")})
        try:
            data = json.loads(raw)
        except ValueError:
            raise ValidationFailed(_("the scenario is not valid"), {"scenario": _("run the scenario again")}) from None
        body = services.parse_scenario(data)
        row = services.choose_plan(current_user, month, code, body, request.form.get("strategy", "optimal"),
                                   utcnow(), promotion_period=request.form.get("promotion_period") or None)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        db.session.rollback()
        details = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in (exc.fields or {}).items())
        flash(f"{exc.message}{' — ' + details if details else ''}", "error")
        return back
    db.session.commit()
    if row.promotion_period:
        flash(_("%(code)s: the plan with the %(period)s promotion is stored with the %(month)s cycle.", code=code,
                period=row.promotion_period, month=month), "success")
    else:
        flash(_("%(code)s: %(plan)s is stored with the %(month)s cycle.", code=code,
                plan=code_label(row.strategy, "supply_plan"), month=month), "success")
    return back
