"""Deal pages: the board by stage, the list, the deal page with lines, history and timeline,
and the writes (create/edit with lines, move stage, close won/lost, reopen, delete, note).

Everyone may look (planners read the pipeline), each viewer through ``crm.deals.visible``,
which keeps only the fields ``crm.policy`` lets them read (planners: no contact, no timeline);
every write is declared for sales only, and the services check ownership on top."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

import crm.contacts.services as contact_services
from crm.contacts.services import ContactPanel
from crm.deals import services
from crm.deals.forms import SPARE_LINE_ROWS, DealForm
from crm.deals.models import DEAL_STATUSES
from crm.deals.visible import board_view, deal_page_view
from crm.errors import ServiceError
from crm.i18n import _
from crm.money.services import base_currency, deals_in_base
from crm.policy import require_edit
from crm.timeutil import utcnow
from crm.web.access import EVERYONE, SALES, roles
from crm.web.formatting import parse_decimal
from crm.web.formhelpers import (
    abort_for,
    apply_service_errors,
    choice_list,
    commit_or_show_errors,
    int_arg,
    safe_id,
    sales_user_choices,
    sales_users,
    text_arg,
)

log = logging.getLogger(__name__)

bp = Blueprint("deals", __name__)

DEAL_SORTS = ("expected_close", "amount", "created", "name")


# --- panels on the contact and company pages (declared in the manifest) ---------------------

def _contact_deals(contact, viewer, now) -> dict:
    return {"deals": services.list_deals(contact_id=contact.id, status="open", per_page=20)}


def _company_deals(company, viewer, now) -> dict:
    return {"deals": services.list_deals(company_id=company.id, status=None, sort="expected_close", per_page=25,
                                         page=int_arg("deals_page") or 1)}


#: The contact's open deals, below the other side panels.
CONTACT_PANEL = ContactPanel(key="deals", template="deals/_contact_panel.html", load=_contact_deals,
                             column="side", order=1000)
#: Every deal with the company, paged (``?deals_page=``).
COMPANY_PANEL = ContactPanel(key="company_deals", template="deals/_company_panel.html", load=_company_deals,
                             page="company")


# --- board and list ---------------------------------------------------------------------

@bp.route("/deals/board")
@roles(*EVERYONE)
def board():
    mine = request.args.get("mine") == "1" and current_user.role != "planner"
    columns = board_view(current_user, services.deal_board(owner_id=current_user.id if mine else None))
    return render_template("deals/board.html", columns=columns, mine=mine,
                           total_open=sum(count for _s, _d, count, _t in columns))


def _list_filters() -> dict:
    status = request.args.get("status", "open")
    owner = request.args.get("owner", "")
    sort = request.args.get("sort", "expected_close")
    return {
        "q": text_arg("q"),
        "status": status if status in DEAL_STATUSES else None,
        "owner_id": current_user.id if owner == "me" else int_arg("owner"),
        "stage_id": int_arg("stage"),
        "sort": sort if sort in DEAL_SORTS else "expected_close",
    }


@bp.route("/deals")
@roles(*EVERYONE)
def list_deals():
    filters = _list_filters()
    page = deal_page_view(current_user, services.list_deals(**filters, page=int_arg("page") or 1, per_page=50))
    filtering = bool(filters["q"] or filters["owner_id"] or filters["stage_id"]
                     or request.args.get("status", "open") != "open")
    return render_template(
        "deals/list.html", page=page, filters=filters, filtering=filtering, in_base=deals_in_base(page.items),
        owners=sales_users(), stages=services.list_stages(active_only=False),
        status_arg=request.args.get("status", "open"),
    )


# --- create / edit ----------------------------------------------------------------------

def _deal_form(deal=None, initial: dict | None = None) -> DealForm:
    form = DealForm(data=initial or {})
    families = services.list_families()
    used = {line.family_id for line in deal.lines} if deal else set()
    family_choices = choice_list([("", "— choose —")] + [
        (f.code, f"{f.code} · {f.name}") for f in families if f.is_active or f.id in used
    ])
    for entry in form.lines:
        entry.form.family.choices = family_choices
    form.company_id.choices = choice_list([("", "— none —")] + [
        (str(cid), name) for cid, name in contact_services.company_choices()
    ])
    form.owner_id.choices = sales_user_choices("— nobody —")
    stages = [s for s in services.list_stages(active_only=False) if s.is_active or (deal and s.id == deal.stage_id)]
    form.stage_id.choices = choice_list((str(s.id), f"{s.name} ({s.probability * 100:.0f}%)") for s in stages)
    return form


def _initial_for_new() -> dict:
    initial = {"owner_id": str(current_user.id) if current_user.role in ("rep", "manager") else "",
               "currency": base_currency(), "lines": [{}] * SPARE_LINE_ROWS}
    contact = None
    if int_arg("contact_id"):
        try:
            contact = contact_services.get_contact(int_arg("contact_id"))
        except ServiceError:
            contact = None
    if contact is not None:
        initial["contact_email"] = contact.email
        initial["company_id"] = str(contact.company_id or "")
    elif int_arg("company_id"):
        initial["company_id"] = str(int_arg("company_id"))
    return initial


def _initial_from(deal) -> dict:
    lines = [{"family": line.family.code, "quantity": f"{line.quantity:g}", "unit_price": str(line.unit_price)}
             for line in deal.lines]
    return {
        "name": deal.name, "company_id": str(deal.company_id or ""),
        "contact_email": deal.contact.email if deal.contact else "",
        "owner_id": str(deal.owner_id or ""), "stage_id": str(deal.stage_id),
        "expected_close": deal.expected_close.isoformat(), "currency": deal.currency,
        "source": deal.source or "", "lines": lines + [{}] * SPARE_LINE_ROWS,
    }


def _form_lines(form: DealForm) -> tuple[list[dict], list[int]]:
    """The filled-in line rows, and for each the row it came from (to put errors back)."""
    lines, rows = [], []
    for index, entry in enumerate(form.lines):
        if entry.form.is_blank():
            continue
        lines.append({"family": entry.form.family.data or "", "quantity": typed_number(entry.form.quantity.data),
                      "unit_price": typed_number(entry.form.unit_price.data)})
        rows.append(index)
    return lines, rows


def typed_number(text: str | None) -> str | None:
    """A number typed the reader's way ("125,000.50"; "125.000,50" in es-ES) in the plain form
    the services read. Left as typed when it is not a number, so the service names the error."""
    try:
        return str(parse_decimal(text))
    except ValueError:
        return text


def _deal_data(form: DealForm, deal=None) -> tuple[dict, list[int]]:
    lines, rows = _form_lines(form)
    data = {"name": form.name.data, "company_id": safe_id(form.company_id.data),
            "owner_id": safe_id(form.owner_id.data), "expected_close": form.expected_close.data,
            "currency": form.currency.data or base_currency(), "source": form.source.data, "lines": lines,
            "contact_id": None}
    if deal is None or deal.is_open:  # a closed deal keeps its stage until reopened
        data["stage_id"] = safe_id(form.stage_id.data)
    return data, rows


def _apply_deal_errors(form: DealForm, exc: ServiceError, rows: list[int]) -> None:
    """Line errors (``lines.<n>.<field>``) go to the row they came from; the rest as usual."""
    rest = {}
    for key, message in exc.fields.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(rows):
            line = form.lines[rows[int(parts[1])]].form
            target = line[parts[2]] if len(parts) == 3 and parts[2] in line else line.family
            target.errors = list(target.errors or []) + [message]
        else:
            rest[key] = message
    if rest or not exc.fields:
        apply_service_errors(form, type(exc)(exc.message, rest), aliases={"contact_id": "contact_email"})


def _resolve_contact(form: DealForm, data: dict) -> bool:
    email = (form.contact_email.data or "").strip()
    if not email:
        return True
    contact = contact_services.find_contact_by_email(email)
    if contact is None:
        form.contact_email.errors = list(form.contact_email.errors or []) + ["no contact with this email"]
        return False
    data["contact_id"] = contact.id
    return True


def _save_deal(form: DealForm, deal=None):
    """Create or update from the form; returns (deal or None, status)."""
    data, rows = _deal_data(form, deal)
    contact_ok = _resolve_contact(form, data)
    if not contact_ok:
        try:
            services.deal_input(data, partial=deal is not None)  # report the other errors too
        except ServiceError as exc:
            _apply_deal_errors(form, exc, rows)
        return None, 422
    if deal is None:
        action = lambda: services.create_deal(current_user, data, utcnow())  # noqa: E731
    else:
        action = lambda: services.update_deal(current_user, deal.id, data, utcnow())  # noqa: E731
    return commit_or_show_errors(form, action, apply_errors=lambda f, exc: _apply_deal_errors(f, exc, rows))


@bp.route("/deals/new", methods=["GET", "POST"])
@roles(*SALES)
def new_deal():
    form = _deal_form(initial=_initial_for_new() if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            deal, status = _save_deal(form)
            if deal is not None:
                flash(_("Deal %(deal)s created.", deal=deal.name), "success")
                return redirect(url_for(".show_deal", deal_id=deal.id))
    return render_template("deals/form.html", form=form, deal=None), status


def editable_deal(deal_id: int):
    """The deal if the current user may change it; otherwise its 404 or 403 page (the deal
    page's actions in ``deal_page_views`` share it)."""
    try:
        deal = services.get_deal(deal_id)
        require_edit(current_user, deal)
    except ServiceError as exc:
        abort_for(exc)
    return deal


@bp.route("/deals/<int:deal_id>/edit", methods=["GET", "POST"])
@roles(*SALES)
def edit_deal(deal_id: int):
    deal = editable_deal(deal_id)
    form = _deal_form(deal, initial=_initial_from(deal) if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            saved, status = _save_deal(form, deal)
            if saved is not None:
                flash(_("Deal saved."), "success")
                return redirect(url_for(".show_deal", deal_id=deal_id))
    return render_template("deals/form.html", form=form, deal=deal), status


from crm.deals import deal_page_views  # noqa: E402,F401  (the deal page and its actions, on bp)
