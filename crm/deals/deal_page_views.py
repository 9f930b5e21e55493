"""The deal page (lines, history, timeline) and its one-click actions: move stage, close as
won or lost, reopen, delete, add a note. Registered on the deals blueprint. The page shows the
deal as its viewer may see it (``crm.deals.visible``): a planner gets no contact and no timeline."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

import crm.contacts.services as contact_services
from crm.deals import services
from crm.deals.forms import CloseForm, StageForm
from crm.deals.views import bp, editable_deal
from crm.deals.visible import deal_view
from crm.errors import Conflict, ServiceError, ValidationFailed
from crm.i18n import _ as gettext
from crm.money.services import deal_in_base
from crm.timeutil import utcnow
from crm.web.access import EVERYONE, SALES, roles
from crm.web.formhelpers import (
    abort_for,
    apply_service_errors,
    choice_list,
    commit_or_abort,
    commit_or_show_errors,
    int_arg,
    safe_id,
)
from crm.web.forms import ConfirmForm, NoteForm


def _action_errors(form, exc: ServiceError) -> None:
    """Invalid input goes on its field; a conflict (the deal is closed, or already closed)
    concerns the deal, not the field picked, so it shows as a form-level error."""
    apply_service_errors(form, exc if isinstance(exc, ValidationFailed) else Conflict(exc.message))


def _stage_form(deal, *, submitted: bool = False) -> StageForm:
    form = StageForm() if submitted else StageForm(formdata=None, data={"stage_id": str(deal.stage_id)})
    form.stage_id.choices = choice_list((str(s.id), s.name) for s in services.list_stages())
    return form


def _render_deal(deal_id: int, *, note_form=None, close_form=None, stage_form=None, status: int = 200):
    try:
        deal = deal_view(current_user, services.get_deal(deal_id), with_contact=True)
    except ServiceError as exc:
        abort_for(exc)
    activities = names = None
    if deal.shows("timeline"):  # planners: not even read
        activities = contact_services.timeline(deal_id=deal.id, page=int_arg("page") or 1)
        names = contact_services.timeline_names(activities)
    return render_template(
        "deals/show.html", deal=deal, ship_holds=services.ship_holds(deal, utcnow().date()),
        in_base=deal_in_base(deal.amount, deal.currency, deal.status, deal.expected_close, deal.closed_on),
        history=services.deal_history(deal.id) if deal.shows("history") else [],
        activities=activities, names=names,
        note_form=note_form or NoteForm(formdata=None),
        close_form=close_form or CloseForm(formdata=None),
        stage_form=stage_form or _stage_form(deal),
    ), status


@bp.route("/deals/<int:deal_id>")
@roles(*EVERYONE)
def show_deal(deal_id: int):
    return _render_deal(deal_id)


@bp.route("/deals/<int:deal_id>/stage", methods=["POST"])
@roles(*SALES)
def move_deal(deal_id: int):
    deal = editable_deal(deal_id)
    form = _stage_form(deal, submitted=True)
    if form.validate_on_submit():
        _, status = commit_or_show_errors(
            form, lambda: services.update_deal(current_user, deal.id, {"stage_id": safe_id(form.stage_id.data)},
                                               utcnow()),
            on_form=(ValidationFailed, Conflict), apply_errors=_action_errors)
        if status != 200:
            return _render_deal(deal_id, stage_form=form, status=status)
        flash(gettext("Stage changed."), "success")
        return redirect(url_for(".show_deal", deal_id=deal_id))
    return _render_deal(deal_id, stage_form=form, status=422)


@bp.route("/deals/<int:deal_id>/close", methods=["POST"])
@roles(*SALES)
def close_deal(deal_id: int):
    deal = editable_deal(deal_id)
    form = CloseForm()
    if form.validate_on_submit():
        won = form.outcome.data == "won"
        _, status = commit_or_show_errors(
            form, lambda: services.close_deal(current_user, deal.id, won=won, now=utcnow(),
                                              lost_reason=form.lost_reason.data),
            on_form=(ValidationFailed, Conflict), apply_errors=_action_errors)
        if status != 200:
            return _render_deal(deal_id, close_form=form, status=status)
        flash(gettext("Deal won. Well done!") if won else gettext("Deal marked as lost."), "success")
        return redirect(url_for(".show_deal", deal_id=deal_id))
    return _render_deal(deal_id, close_form=form, status=422)


@bp.route("/deals/<int:deal_id>/reopen", methods=["POST"])
@roles(*SALES)
def reopen_deal(deal_id: int):
    deal = editable_deal(deal_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    commit_or_abort(lambda: services.reopen_deal(current_user, deal.id, utcnow()))
    flash(gettext("Deal reopened."), "success")
    return redirect(url_for(".show_deal", deal_id=deal_id))


@bp.route("/deals/<int:deal_id>/delete", methods=["GET", "POST"])
@roles(*SALES)
def delete_deal(deal_id: int):
    deal = editable_deal(deal_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = deal.name
        commit_or_abort(lambda: services.delete_deal(current_user, deal.id))
        flash(gettext("Deal %(value)s deleted.", value=name), "success")
        return redirect(url_for(".list_deals"))
    return render_template(
        "_confirm.html", form=form, title=f"Delete {deal.name}?",
        message=gettext("The deal, its lines and its history are deleted for good. "
                "To keep the record, close it as lost instead."),
        cancel_url=url_for(".show_deal", deal_id=deal.id), action_label="Delete deal",
    )


@bp.route("/deals/<int:deal_id>/notes", methods=["POST"])
@roles(*SALES)
def add_deal_note(deal_id: int):
    form = NoteForm()
    if form.validate_on_submit():
        _, status = commit_or_show_errors(form, lambda: services.add_deal_note(current_user, deal_id, form.body.data,
                                                                               utcnow()), on_form=(ValidationFailed,))
        if status != 200:
            return _render_deal(deal_id, note_form=form, status=status)
        flash(gettext("Note added."), "success")
        return redirect(url_for(".show_deal", deal_id=deal_id, _anchor="timeline"))
    return _render_deal(deal_id, note_form=form, status=422)
