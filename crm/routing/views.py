"""The admin's lead-routing page: the rules in order, add, move, delete."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import Length

from crm.auth.models import User
from crm.extensions import db
from crm.i18n import _, _l
from crm.routing import services
from crm.routing.models import RULE_KINDS
from crm.timeutil import utcnow
from crm.web.access import roles
from crm.web.formhelpers import CrmForm, choice_list, commit_or_abort, commit_or_show_errors

bp = Blueprint("routing", __name__)

KIND_LABELS = {
    "company_owner": _l("The company's owner"), "country": _l("Territory by country"),
    "time_zone": _l("Territory by time zone"), "round_robin": _l("Round robin (everyone else)"),
}


class RuleForm(CrmForm):
    kind = SelectField(_l("Rule"), choices=choice_list((k, KIND_LABELS[k]) for k in RULE_KINDS),
                       validate_choice=False)
    match = StringField(_l("Countries or time zones"), validators=[Length(max=200)],
                        render_kw={"placeholder": "DE, AT, CH  ·  America/, Europe/Madrid"})
    rep_ids = SelectMultipleField(_l("Reps, in turn"), choices=[], validate_choice=False, coerce=str)


def _form() -> RuleForm:
    form = RuleForm()
    reps = db.session.scalars(select(User).where(User.role.in_(("rep", "manager")), User.is_active.is_(True))
                              .order_by(User.name)).all()
    form.rep_ids.choices = [(str(u.id), u.name) for u in reps]
    return form


def _render(form, status=200):
    names = dict(db.session.execute(select(User.id, User.name)).all())
    return render_template("routing/rules.html", form=form, rules=services.list_rules(), labels=KIND_LABELS,
                           names=names), status


@bp.route("/admin/lead-routing", methods=["GET", "POST"])
@roles("admin")
def rules():
    form = _form()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _render(form, 422)
        data = {"kind": form.kind.data, "match": form.match.data, "rep_ids": form.rep_ids.data or []}
        rule, status = commit_or_show_errors(form, lambda: services.add_rule(current_user, data, utcnow()))
        if rule is None:
            return _render(form, status)
        flash(_("Routing rule added."), "success")
        return redirect(url_for(".rules"))
    return _render(form)


@bp.route("/admin/lead-routing/<int:rule_id>/delete", methods=["POST"])
@roles("admin")
def delete(rule_id: int):
    commit_or_abort(lambda: services.delete_rule(current_user, rule_id))
    flash(_("Routing rule deleted."), "success")
    return redirect(url_for(".rules"))


@bp.route("/admin/lead-routing/<int:rule_id>/move", methods=["POST"])
@roles("admin")
def move(rule_id: int):
    direction = -1 if request.form.get("direction") == "up" else 1
    commit_or_abort(lambda: services.move_rule(current_user, rule_id, direction))
    return redirect(url_for(".rules"))
