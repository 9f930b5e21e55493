"""Contact pages: the list (search, filters, sorting, pagination), the contact page with its
timeline and notes, and create / edit / delete. Company pages are in ``company_views``, on the
same blueprint. Every view parses input, calls ``crm.contacts.services``, commits, renders."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.contacts import services
from crm.contacts.custom_fields import list_custom_fields
from crm.contacts.forms import CONTACT_FIELDS, LIFECYCLE_CHOICES, ConfirmForm, ContactForm, NoteForm
from crm.contacts.models import LIFECYCLE_STAGES
from crm.contacts.panels import contact_panels
from crm.errors import ServiceError, ValidationFailed
from crm.i18n import LANGUAGE_CHOICES, _
from crm.i18n import _ as gettext
from crm.policy import require_edit
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.formhelpers import (
    abort_for,
    choice_list,
    commit_or_abort,
    commit_or_show_errors,
    custom_form_data,
    custom_values_from_form,
    int_arg,
    sales_user_choices,
    sales_users,
    text_arg,
    timezone_choices,
    with_custom_fields,
)
from crm.web.pagination import Page

log = logging.getLogger(__name__)

bp = Blueprint("contacts", __name__)

CONTACT_SORTS = ("name", "email", "company", "stage", "created")
PER_PAGE = 50


# --- list -----------------------------------------------------------------------------------

def _list_filters(definitions) -> dict:
    """Search arguments from the query string; junk values are ignored, not fatal."""
    owner = request.args.get("owner", "")
    owner_id = current_user.id if owner == "me" else int_arg("owner")
    stage = request.args.get("stage", "")
    sort = request.args.get("sort", "name")
    custom = {d.key: text_arg(f"cf_{d.key}") for d in definitions if text_arg(f"cf_{d.key}")}
    return {
        "q": text_arg("q"),
        "owner_id": owner_id,
        "stage": stage if stage in LIFECYCLE_STAGES else None,
        "custom": custom,
        "sort": sort if sort in CONTACT_SORTS else "name",
        "descending": request.args.get("dir") == "desc",
    }


@bp.route("/contacts")
@roles(*SALES)
def list_contacts():
    definitions = list_custom_fields("contact")
    filters = _list_filters(definitions)
    filter_errors: dict[str, str] = {}
    try:
        page = services.search_contacts(**filters, page=int_arg("page") or 1, per_page=PER_PAGE)
    except ValidationFailed as exc:
        filter_errors = exc.fields
        page = Page([], 1, PER_PAGE, 0)
    except OverflowError:  # a custom number filter such as 1e400
        filter_errors = {"custom": "a number too large to compare"}
        page = Page([], 1, PER_PAGE, 0)
    filtering = bool(filters["q"] or filters["owner_id"] or filters["stage"] or filters["custom"])
    return render_template(
        "contacts/list.html", page=page, filters=filters, filtering=filtering,
        definitions=definitions, owners=sales_users(), stages=LIFECYCLE_CHOICES,
        filter_errors=filter_errors,
    ), (400 if filter_errors else 200)


# --- create / edit / delete -------------------------------------------------------------

def _contact_form(definitions, *, initial: dict | None = None, editing: bool = False):
    form = with_custom_fields(ContactForm, definitions)(data=initial or {})
    form.company_id.choices = choice_list([("", _("— none —") if editing else _("— from the email's domain —"))] + [
        (str(cid), name) for cid, name in services.company_choices()
    ])
    form.owner_id.choices = sales_user_choices(_("— nobody —"))
    form.time_zone.choices = timezone_choices(_("— the company's, else UTC —"))
    form.language.choices = choice_list([("", _("— the owner's —"))] + list(LANGUAGE_CHOICES))
    return form


def _contact_data(form, definitions) -> dict:
    data = form.service_data()
    if definitions:
        data["custom"] = custom_values_from_form(form, definitions)
    return data


def _initial_from(contact) -> dict:
    data = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    for key in ("company_id", "owner_id"):
        data[key] = str(data[key]) if data[key] else ""
    data["time_zone"] = data["time_zone"] or ""
    data["language"] = data["language"] or ""
    return {**data, **custom_form_data(list_custom_fields("contact"), contact.custom)}


@bp.route("/contacts/new", methods=["GET", "POST"])
@roles(*SALES)
def new_contact():
    definitions = list_custom_fields("contact")
    initial = {"owner_id": str(current_user.id) if current_user.role in ("rep", "manager") else "",
               "company_id": request.args.get("company_id", "")}
    form = _contact_form(definitions, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            data = _contact_data(form, definitions)
            contact, status = commit_or_show_errors(
                form, lambda: services.create_contact(current_user, data, utcnow()))
            if contact is not None:
                log.info("contact %s created by user %s", contact.id, current_user.id)
                flash(gettext("Contact %(full_name)s created.", full_name=contact.full_name), "success")
                return redirect(url_for(".show_contact", contact_id=contact.id))
    return render_template("contacts/form.html", form=form, contact=None), status


def _editable_contact(contact_id: int):
    try:
        contact = services.get_contact(contact_id)
        require_edit(current_user, contact)
    except ServiceError as exc:
        abort_for(exc)
    return contact


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@roles(*SALES)
def edit_contact(contact_id: int):
    contact = _editable_contact(contact_id)
    definitions = list_custom_fields("contact")
    form = _contact_form(definitions, initial=_initial_from(contact), editing=True)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            data = _contact_data(form, definitions)
            saved, status = commit_or_show_errors(
                form, lambda: services.update_contact(current_user, contact.id, data, utcnow()))
            if saved is not None:
                flash(gettext("Contact saved."), "success")
                return redirect(url_for(".show_contact", contact_id=contact_id))
    return render_template("contacts/form.html", form=form, contact=contact), status


@bp.route("/contacts/<int:contact_id>/delete", methods=["GET", "POST"])
@roles(*SALES)
def delete_contact(contact_id: int):
    contact = _editable_contact(contact_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = contact.full_name
        commit_or_abort(lambda: services.delete_contact(current_user, contact.id))
        flash(gettext("Contact %(value)s deleted.", value=name), "success")
        return redirect(url_for(".list_contacts"))
    return render_template(
        "_confirm.html", form=form, title=f"Delete {contact.full_name}?",
        message=gettext("The contact and its timeline are deleted for good. Deals keep their other data."),
        cancel_url=url_for(".show_contact", contact_id=contact.id), action_label="Delete contact",
    )


# --- the contact page -------------------------------------------------------------------

def _render_contact(contact_id: int, note_form: NoteForm, status: int = 200):
    try:
        contact = services.get_contact(contact_id)
    except ServiceError as exc:
        abort_for(exc)
    activities = services.timeline(contact_id=contact.id, page=int_arg("page") or 1)
    return render_template(
        "contacts/show.html", contact=contact, activities=activities,
        names=services.timeline_names(activities),
        definitions=list_custom_fields("contact"), note_form=note_form,
        panels=contact_panels(contact, current_user, utcnow()),
    ), status


@bp.route("/contacts/<int:contact_id>")
@roles(*SALES)
def show_contact(contact_id: int):
    return _render_contact(contact_id, NoteForm(formdata=None))


@bp.route("/contacts/<int:contact_id>/notes", methods=["POST"])
@roles(*SALES)
def add_contact_note(contact_id: int):
    form = NoteForm()
    if form.validate_on_submit():
        _, status = commit_or_show_errors(
            form, lambda: services.add_note(current_user, form.body.data, utcnow(), contact_id=contact_id),
            on_form=(ValidationFailed,))
        if status != 200:
            return _render_contact(contact_id, form, status)
        flash(gettext("Note added."), "success")
        return redirect(url_for(".show_contact", contact_id=contact_id, _anchor="timeline"))
    return _render_contact(contact_id, form, 422)


from crm.contacts import company_views  # noqa: E402,F401  (registers the company routes on bp)
