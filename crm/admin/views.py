"""Administration pages (admins only): users and teams, and custom fields. Product families
and pipeline stages are in ``pipeline_views`` on the same blueprint."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

import crm.auth.services as auth_services
import crm.contacts.services as contact_services
from crm.admin.forms import CustomFieldForm, EditUserForm, ForceResetForm, UserForm
from crm.auth.services import messages as auth_messages
from crm.errors import Conflict, NotFound, ServiceError, ValidationFailed
from crm.i18n import _
from crm.timeutil import all_timezones, utcnow
from crm.web.access import roles
from crm.web.formhelpers import (
    abort_for,
    choice_list,
    commit_or_abort,
    commit_or_flash,
    commit_or_show_errors,
    safe_id,
)

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__)


#: What the user pages flash back to the list; a missing user or a non-admin gets the error page.
USER_REFUSALS = (Conflict, ValidationFailed)


def _managers(users) -> list:
    return [u for u in users if u.role == "manager" and u.is_active]


# --- users ----------------------------------------------------------------------------------

@bp.route("/admin/users")
@roles("admin")
def users():
    everyone = auth_services.list_users()
    return render_template("admin/users.html", users=everyone, by_id={u.id: u for u in everyone},
                           managers=_managers(everyone))


def _user_form(users) -> UserForm:
    form = UserForm()
    form.manager_id.choices = choice_list([("", "— none —")] + [(str(m.id), m.name) for m in _managers(users)])
    form.time_zone.choices = choice_list((tz, tz) for tz in all_timezones())
    return form


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles("admin")
def new_user():
    form = _user_form(auth_services.list_users())
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            raw_manager = safe_id(form.manager_id.data)
            manager_id = int(raw_manager) if raw_manager else None

            def create():
                if manager_id is not None and form.role.data != "rep":
                    raise ValidationFailed(_("invalid user"), {"manager_id": _("only reps have a manager")})
                return auth_services.create_user(
                    form.email.data or "", form.role.data, form.password.data or "",
                    name=form.name.data or "", manager_id=manager_id, time_zone=form.time_zone.data,
                )

            user, status = commit_or_show_errors(form, create)
            if user is not None:
                log.info("admin %s created user %s (%s)", current_user.id, user.id, user.role)
                flash(_("%(user)s can now sign in as %(email)s.", user=user.name, email=user.email), "success")
                return redirect(url_for(".users"))
    return render_template("admin/user_form.html", form=form, password_hint=_password_hint()), status


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles("admin")
def edit_user(user_id: int):
    everyone = auth_services.list_users()
    user = next((u for u in everyone if u.id == user_id), None)
    if user is None:
        abort_for(NotFound(_("no such user")))
    form = EditUserForm(obj=None if request.method == "POST" else user)
    if request.method == "GET":
        form.manager_id.data = str(user.manager_id or "")
    form.manager_id.choices = choice_list([("", _("— none —"))] + [(str(m.id), m.name) for m in _managers(everyone)
                                                                 if m.id != user.id])
    form.time_zone.choices = choice_list((tz, tz) for tz in all_timezones())
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            raw_manager = safe_id(form.manager_id.data)
            saved, status = commit_or_show_errors(form, lambda: auth_services.update_user(
                current_user, user_id, name=form.name.data or "", role=form.role.data or "",
                manager_id=int(raw_manager) if raw_manager else None, time_zone=form.time_zone.data or ""))
            if saved is not None:
                log.info("admin %s edited user %s (%s)", current_user.id, saved.id, saved.role)
                flash(_("%(name)s saved.", name=saved.name), "success")
                return redirect(url_for(".users"))
    return render_template("admin/user_edit.html", form=form, user=user), status


def _password_hint() -> str:
    return auth_messages.PASSWORD_HINT.format(min_length=auth_services.MIN_PASSWORD_LENGTH)


@bp.route("/admin/users/<int:user_id>/force-reset", methods=["GET", "POST"])
@roles("admin")
def force_password_reset(user_id: int):
    """Ask to confirm (GET, saying what will end), then force the reset (POST)."""
    form = ForceResetForm()
    if not form.validate_on_submit():
        try:  # the preview changes nothing: there is nothing to roll back
            preview = auth_services.preview_password_reset(current_user, user_id, utcnow())
        except ServiceError as exc:
            if exc.status in (403, 404):
                abort_for(exc)
            flash(exc.message, "error")
            return redirect(url_for(".users"))
        return render_template("admin/force_reset.html", form=form, preview=preview)
    report, done = commit_or_flash(
        lambda: auth_services.force_password_reset(current_user, user_id, utcnow()), refusals=USER_REFUSALS)
    if not done:
        return redirect(url_for(".users"))
    log.info("admin %s forced a password reset for user %s", current_user.id, report.user.id)
    # Whole sentences side by side (crm.auth.messages).
    flash(" ".join((
        auth_messages.FORCE_RESET_DONE.format(name=report.user.name),
        auth_messages.plural(auth_messages.THEIR_SESSIONS_ENDED, report.sessions_ended),
        auth_messages.plural(auth_messages.THEIR_TOKENS_REVOKED, report.tokens_revoked),
    )), "success")
    return redirect(url_for(".users"))


def _set_active(user_id: int, active: bool):
    user, done = commit_or_flash(
        lambda: auth_services.set_user_active(current_user, user_id, active, utcnow()), refusals=USER_REFUSALS)
    if done:
        flash(_("%(name)s reactivated.", name=user.name) if active else
              _("%(name)s deactivated and signed out.", name=user.name), "success")
    return redirect(url_for(".users"))


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@roles("admin")
def deactivate_user(user_id: int):
    return _set_active(user_id, False)


@bp.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@roles("admin")
def reactivate_user(user_id: int):
    return _set_active(user_id, True)


@bp.route("/admin/users/<int:user_id>/manager", methods=["POST"])
@roles("admin")
def change_manager(user_id: int):
    raw = safe_id(request.form.get("manager_id", ""))
    manager_id = int(raw) if raw else None
    user, done = commit_or_flash(
        lambda: auth_services.set_manager(current_user, user_id, manager_id), refusals=USER_REFUSALS,
        message=lambda exc: next(iter(exc.fields.values()), exc.message))
    if done:
        flash(_("%(user)s's manager updated.", user=user.name), "success")
    return redirect(url_for(".users"))


# --- custom fields --------------------------------------------------------------------------

@bp.route("/admin/custom-fields", methods=["GET", "POST"])
@roles("admin")
def custom_fields_page():
    form = CustomFieldForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            choices = [line.strip() for line in (form.choices.data or "").splitlines() if line.strip()]
            field, status = commit_or_show_errors(form, lambda: contact_services.define_custom_field(
                current_user, form.entity.data, (form.key.data or "").strip(), form.label.data or "",
                form.field_type.data, choices,
            ))
            if field is not None:
                flash(_("Field “%(label)s” added to %(entity)s records.",
                        label=field.label, entity=field.entity), "success")
                return redirect(url_for(".custom_fields_page"))
    elif request.args.get("entity") in ("contact", "company"):
        form.entity.data = request.args["entity"]
    return render_template(
        "admin/custom_fields.html", form=form,
        contact_fields=contact_services.list_custom_fields("contact"),
        company_fields=contact_services.list_custom_fields("company"),
    ), status


@bp.route("/admin/custom-fields/<int:field_id>/delete", methods=["POST"])
@roles("admin")
def delete_custom_field(field_id: int):
    commit_or_abort(lambda: contact_services.delete_custom_field(current_user, field_id))
    flash(_("Field deleted. Values already stored stay in the records and return if you define it again."), "info")
    return redirect(url_for(".custom_fields_page"))


from crm.admin import pipeline_views  # noqa: E402,F401  (families and stages, on bp)
