"""Company pages on the contacts blueprint: list with search, the company page (contacts,
deals, timeline) and create / edit / delete."""
from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.contacts import services
from crm.contacts.custom_fields import list_custom_fields
from crm.contacts.forms import COMPANY_FIELDS, CompanyForm, ConfirmForm, NoteForm
from crm.contacts.panels import company_panels
from crm.contacts.views import bp
from crm.errors import ServiceError, ValidationFailed
from crm.i18n import _ as gettext
from crm.policy import require_edit
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.formhelpers import (
    abort_for,
    commit_or_abort,
    commit_or_show_errors,
    custom_form_data,
    custom_values_from_form,
    int_arg,
    sales_user_choices,
    text_arg,
    timezone_choices,
    with_custom_fields,
)

log = logging.getLogger(__name__)

COMPANY_SORTS = ("name", "created", "size")


@bp.route("/companies")
@roles(*SALES)
def list_companies():
    q = text_arg("q")
    sort = request.args.get("sort", "name")
    page = services.list_companies(
        q, sort=sort if sort in COMPANY_SORTS else "name", page=int_arg("page") or 1, per_page=50
    )
    return render_template("contacts/companies.html", page=page, q=q, sort=sort)


def _company_form(definitions, initial: dict | None = None):
    form = with_custom_fields(CompanyForm, definitions)(data=initial or {})
    form.owner_id.choices = sales_user_choices("— nobody —")
    form.time_zone.choices = timezone_choices("— not set —")
    return form


def _company_data(form, definitions) -> dict:
    data = form.service_data()
    if definitions:
        data["custom"] = custom_values_from_form(form, definitions)
    return data


def _save_company(form, definitions, company_id: int | None):
    """Create or update; returns the company, or None with the errors put on the form."""
    data = _company_data(form, definitions)
    if company_id is None:
        return commit_or_show_errors(form, lambda: services.create_company(current_user, data, utcnow()))
    return commit_or_show_errors(
        form, lambda: services.update_company(current_user, company_id, data, utcnow()))


@bp.route("/companies/new", methods=["GET", "POST"])
@roles(*SALES)
def new_company():
    definitions = list_custom_fields("company")
    form = _company_form(definitions, {"owner_id": str(current_user.id) if current_user.role != "admin" else ""})
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            company, status = _save_company(form, definitions, None)
            if company is not None:
                flash(gettext("Company %(company)s created.", company=company.name), "success")
                return redirect(url_for(".show_company", company_id=company.id))
    return render_template("contacts/company_form.html", form=form, company=None), status


def _editable_company(company_id: int):
    try:
        company = services.get_company(company_id)
        require_edit(current_user, company)
    except ServiceError as exc:
        abort_for(exc)
    return company


@bp.route("/companies/<int:company_id>/edit", methods=["GET", "POST"])
@roles(*SALES)
def edit_company(company_id: int):
    company = _editable_company(company_id)
    definitions = list_custom_fields("company")
    initial = {name: getattr(company, name) for name in COMPANY_FIELDS}
    initial.update(owner_id=str(company.owner_id or ""), time_zone=company.time_zone or "",
                   employee_count="" if company.employee_count is None else str(company.employee_count),
                   **custom_form_data(definitions, company.custom))
    form = _company_form(definitions, initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            saved, status = _save_company(form, definitions, company.id)
            if saved is not None:
                flash(gettext("Company saved."), "success")
                return redirect(url_for(".show_company", company_id=company_id))
    return render_template("contacts/company_form.html", form=form, company=company), status


@bp.route("/companies/<int:company_id>/delete", methods=["GET", "POST"])
@roles(*SALES)
def delete_company(company_id: int):
    company = _editable_company(company_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = company.name
        commit_or_abort(lambda: services.delete_company(current_user, company.id))
        flash(gettext("Company %(value)s deleted.", value=name), "success")
        return redirect(url_for(".list_companies"))
    return render_template(
        "_confirm.html", form=form, title=f"Delete {company.name}?",
        message=gettext("The company and its timeline are deleted. Its contacts and deals stay, without a company."),
        cancel_url=url_for(".show_company", company_id=company.id), action_label="Delete company",
    )


def _render_company(company_id: int, note_form: NoteForm, status: int = 200):
    try:
        company = services.get_company(company_id)
    except ServiceError as exc:
        abort_for(exc)
    activities = services.timeline(company_id=company.id, page=int_arg("page") or 1)
    return render_template(
        "contacts/company.html", company=company, note_form=note_form,
        activities=activities, names=services.timeline_names(activities),
        definitions=list_custom_fields("company"),
        contacts=services.search_contacts(company_id=company.id, page=int_arg("contacts_page") or 1, per_page=25),
        panels=company_panels(company, current_user, utcnow()),
    ), status


@bp.route("/companies/<int:company_id>")
@roles(*SALES)
def show_company(company_id: int):
    return _render_company(company_id, NoteForm(formdata=None))


@bp.route("/companies/<int:company_id>/notes", methods=["POST"])
@roles(*SALES)
def add_company_note(company_id: int):
    form = NoteForm()
    if form.validate_on_submit():
        _, status = commit_or_show_errors(
            form, lambda: services.add_note(current_user, form.body.data, utcnow(), company_id=company_id),
            on_form=(ValidationFailed,))
        if status != 200:
            return _render_company(company_id, form, status)
        flash(gettext("Note added."), "success")
        return redirect(url_for(".show_company", company_id=company_id, _anchor="timeline"))
    return _render_company(company_id, form, 422)
