"""Pages of the meetings feature: the public booking pages under /meet (no login, rate-limited
per IP, the visitor's zone from the browser or a ``tz`` query argument) and the rep's pages
under /meetings (meeting types, meetings, external calendars)."""
from __future__ import annotations

import logging
from datetime import date, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.contacts.services import ContactPanel
from crm.errors import Conflict, ServiceError
from crm.extensions import db, limiter
from crm.i18n import _
from crm.meetings import availability as av
from crm.meetings import calendars, services
from crm.meetings.forms import (
    WEEKDAYS,
    BookingForm,
    CalendarUploadForm,
    CalendarUrlForm,
    CancelForm,
    ConfirmForm,
    MeetingTypeForm,
)
from crm.meetings.tokens import manage_token
from crm.timeutil import all_timezones, is_valid_timezone, utcnow
from crm.web.access import SALES, public, roles
from crm.web.formhelpers import (
    abort_for,
    apply_service_errors,
    choice_list,
    commit_or_abort,
    commit_or_show_errors,
    sales_users,
    text_arg,
    timezone_choices,
)

log = logging.getLogger(__name__)

bp = Blueprint("meetings", __name__)

PAGE_DAYS = 7
MAX_ICS_UPLOAD = calendars.MAX_ICS_BYTES


def _slots_limit() -> str:
    return current_app.config.get("MEETING_SLOTS_RATE_LIMIT", "120 per minute")


def _booking_limit() -> str:
    return current_app.config.get("MEETING_BOOKING_RATE_LIMIT", "30 per minute")


# --- public: helpers --------------------------------------------------------------------------

def visitor_tz() -> tuple[str, bool]:
    """The visitor's zone from ``?tz=`` (set by meetings.js from the browser, or the select);
    UTC until known. Returns (zone, whether it was given)."""
    tz = text_arg("tz", 64)
    return (tz, True) if is_valid_timezone(tz) else ("UTC", False)


def start_day_arg(default: date) -> date:
    try:
        day = date.fromisoformat(text_arg("start", 10))
    except ValueError:
        return default
    return day if abs((day - default).days) <= 400 else default


def slot_page_context(meeting_type, tz: str, start_day: date, slots) -> dict:
    today = av.local_date(utcnow(), tz)
    return {
        "can_go_back": start_day > today,
        "meeting_type": meeting_type, "tz": tz, "days": av.group_by_local_day(slots, tz),
        "start_day": start_day, "next_day": start_day + timedelta(days=PAGE_DAYS),
        "prev_day": start_day - timedelta(days=PAGE_DAYS), "zones": all_timezones(),
        "src": text_arg("src", 500),
    }


# --- public: booking --------------------------------------------------------------------------

@bp.get("/meet/<slug>")
@public
@limiter.limit(_slots_limit)
def booking_page(slug: str):
    try:
        meeting_type = services.public_meeting_type(slug)
    except ServiceError as exc:
        abort_for(exc)
    tz, tz_given = visitor_tz()
    now = utcnow()
    today = av.local_date(now, tz)
    start_day = max(start_day_arg(today), today)
    slots = services.slots_for_days(meeting_type, now, start_day, PAGE_DAYS, tz)
    return render_template("meetings/public_slots.html", tz_given=tz_given,
                           **slot_page_context(meeting_type, tz, start_day, slots))


@bp.route("/meet/<slug>/book", methods=["GET", "POST"])
@public
@limiter.limit(_booking_limit, methods=["POST"])
@limiter.limit(_slots_limit, methods=["GET"])
def booking_form(slug: str):
    try:
        meeting_type = services.public_meeting_type(slug)
    except ServiceError as exc:
        abort_for(exc)
    form = BookingForm()
    if request.method == "GET":
        form.start.data, form.tz.data, form.src.data = text_arg("start", 64), visitor_tz()[0], text_arg("src", 500)
        prospect = services.prospect_for_link(form.src.data)
        if prospect is not None:  # a sequence's link: the prospect need not type who they are
            form.name.data, form.email.data = prospect
    tz = form.tz.data if is_valid_timezone(form.tz.data) else "UTC"
    try:
        start = services.parse_start(form.start.data)
    except ServiceError:
        flash(_("Please pick a time first."), "error")
        return redirect(url_for("meetings.booking_page", slug=meeting_type.slug, tz=tz))
    status = 200
    if form.validate_on_submit():
        answers = {q["key"]: request.form.get(f"answer_{q['key']}", "") for q in meeting_type.questions}
        now = utcnow()

        def book():
            guest = services.guest_from(meeting_type, {"name": form.name.data, "email": form.email.data,
                                                       "tz": tz, "answers": answers})
            return services.book(meeting_type, start, guest, now, source_token=form.src.data or None)

        meeting, status = commit_or_show_errors(form, book, apply_errors=_booking_errors)
        if meeting is not None:
            return redirect(url_for("meetings.manage", token=manage_token(meeting), booked=1))
        if status == Conflict.status:
            return _just_taken(meeting_type, tz)
    elif request.method == "POST":
        status = 422
    return render_template("meetings/public_book.html", meeting_type=meeting_type, form=form, tz=tz,
                           start=start.astimezone(av.ZoneInfo(tz)),
                           end=(start + timedelta(minutes=meeting_type.duration_minutes)).astimezone(av.ZoneInfo(tz)),
                           answers=request.form), status


def _booking_errors(form, exc: ServiceError) -> None:
    """The slot just taken is answered with fresh slots (``_just_taken``); the rest go on the form."""
    if not isinstance(exc, Conflict):
        apply_service_errors(form, exc)


def _just_taken(meeting_type, tz: str):
    """The loser of a race: a clear message and fresh slots, answered 409."""
    now = utcnow()
    today = av.local_date(now, tz)
    slots = services.slots_for_days(meeting_type, now, today, PAGE_DAYS, tz)
    return render_template("meetings/public_slots.html", tz_given=True, just_taken=True,
                           **slot_page_context(meeting_type, tz, today, slots)), 409


# --- public: manage (cancel, reschedule) ------------------------------------------------------

def _meeting_from_token(token: str):
    try:
        return services.meeting_by_token(token)
    except ServiceError as exc:
        abort_for(exc)


@bp.get("/meet/m/<token>")
@public
@limiter.limit(_slots_limit)
def manage(token: str):
    meeting = _meeting_from_token(token)
    tz = visitor_tz()[0] if visitor_tz()[1] else meeting.guest_time_zone
    return render_template("meetings/public_manage.html", meeting=meeting, token=token, tz=tz,
                           zone=av.ZoneInfo(tz), form=CancelForm(), booked=request.args.get("booked") == "1",
                           now=utcnow())


@bp.post("/meet/m/<token>/cancel")
@public
@limiter.limit(_booking_limit)
def cancel_by_guest(token: str):
    meeting = _meeting_from_token(token)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    now = utcnow()
    commit_or_abort(lambda: services.cancel_meeting(meeting, now, reason=form.reason.data or ""))
    flash(_("The meeting is cancelled. Both of you have been sent an update."), "success")
    return redirect(url_for("meetings.manage", token=token))


@bp.route("/meet/m/<token>/reschedule", methods=["GET", "POST"])
@public
@limiter.limit(_booking_limit, methods=["POST"])
@limiter.limit(_slots_limit, methods=["GET"])
def reschedule(token: str):
    meeting = _meeting_from_token(token)
    tz_arg, given = visitor_tz()
    tz = tz_arg if given else meeting.guest_time_zone
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        now = utcnow()
        moved, _status = commit_or_show_errors(
            form, lambda: services.reschedule(meeting, services.parse_start(request.form.get("start", "")), now),
            apply_errors=lambda _form, exc: flash(exc.fields.get("start") or exc.message, "error"))
        if moved is not None:
            flash(_("The meeting has moved. An update is on its way to both of you."), "success")
            return redirect(url_for("meetings.manage", token=token))
    now = utcnow()
    today = av.local_date(now, tz)
    start_day = max(start_day_arg(today), today)
    slots = services.reschedule_slots(meeting, now, start_day, PAGE_DAYS, tz)
    return render_template("meetings/public_reschedule.html", meeting=meeting, token=token, form=form, tz=tz,
                           days=av.group_by_local_day(slots, tz), start_day=start_day,
                           next_day=start_day + timedelta(days=PAGE_DAYS), zones=all_timezones())


# --- rep: meetings ----------------------------------------------------------------------------

@bp.get("/meetings")
@roles(*SALES)
def list_meetings():
    now = utcnow()
    tz = current_user.time_zone or "UTC"
    return render_template(
        "meetings/list.html", upcoming=services.list_meetings(current_user, scope="upcoming", now=now),
        past=services.list_meetings(current_user, scope="past", now=now, limit=50), zone=av.ZoneInfo(tz), tz=tz,
        form=CancelForm(), types=services.list_meeting_types(current_user))


@bp.post("/meetings/<int:meeting_id>/cancel")
@roles(*SALES)
def cancel_meeting(meeting_id: int):
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    now = utcnow()
    commit_or_abort(lambda: services.cancel_as_user(current_user, meeting_id, now, form.reason.data or ""))
    flash(_("Meeting cancelled; the guest has been told."), "success")
    return redirect(url_for("meetings.list_meetings"))


# --- rep: meeting types -----------------------------------------------------------------------

def _type_form(form: MeetingTypeForm) -> MeetingTypeForm:
    form.time_zone.choices = timezone_choices("Choose…")
    form.member_ids.choices = choice_list([(str(u.id), u.name) for u in sales_users()])
    return form


@bp.get("/meetings/types")
@roles(*SALES)
def list_types():
    return render_template("meetings/types.html", types=services.list_meeting_types(current_user),
                           public_url=services.public_url, weekdays=WEEKDAYS, form=ConfirmForm())


@bp.route("/meetings/types/new", methods=["GET", "POST"])
@roles(*SALES)
def new_type():
    form = _type_form(MeetingTypeForm())
    if request.method == "GET":
        form.time_zone.data = current_user.time_zone or "UTC"
        for weekday in range(5):
            form[f"hours_{weekday}"].data = "09:00-12:00, 13:00-17:00"
    status = 200
    if form.validate_on_submit():
        created, status = commit_or_show_errors(
            form, lambda: services.create_meeting_type(current_user, form.service_data(), utcnow()))
        if created:
            flash(_("Meeting type created: %(public_url)s", public_url=services.public_url(created.slug)), "success")
            return redirect(url_for("meetings.list_types"))
    elif request.method == "POST":
        status = 422
    return render_template("meetings/type_form.html", form=form, meeting_type=None), status


@bp.route("/meetings/types/<int:meeting_type_id>/edit", methods=["GET", "POST"])
@roles(*SALES)
def edit_type(meeting_type_id: int):
    try:
        meeting_type = services.get_own_meeting_type(current_user, meeting_type_id)
    except ServiceError as exc:
        abort_for(exc)
    form = _type_form(MeetingTypeForm())
    if request.method == "GET":
        form.load(meeting_type)
    status = 200
    if form.validate_on_submit():
        saved, status = commit_or_show_errors(
            form, lambda: services.update_meeting_type(current_user, meeting_type_id, form.service_data(), utcnow()))
        if saved:
            flash(_("Meeting type saved."), "success")
            return redirect(url_for("meetings.list_types"))
    elif request.method == "POST":
        status = 422
    return render_template("meetings/type_form.html", form=form, meeting_type=meeting_type), status


@bp.post("/meetings/types/<int:meeting_type_id>/delete")
@roles(*SALES)
def delete_type(meeting_type_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    commit_or_abort(lambda: services.delete_meeting_type(current_user, meeting_type_id))
    flash(_("Meeting type deleted; booked meetings stay."), "success")
    return redirect(url_for("meetings.list_types"))


# --- rep: external calendars ------------------------------------------------------------------

@bp.route("/meetings/calendars", methods=["GET", "POST"])
@roles(*SALES)
def list_calendars():
    url_form, upload_form = CalendarUrlForm(prefix="feed"), CalendarUploadForm(prefix="upload")
    status = 200
    if request.method == "POST" and url_form.validate_on_submit():
        created, status = commit_or_show_errors(
            url_form, lambda: calendars.add_feed(current_user, url_form.name.data, url_form.url.data, utcnow()))
        if created:
            flash(_("Calendar added.")
                  if not created.last_error else _("Calendar added, but: %(last_error)s",
                                                   last_error=created.last_error),
                  "success" if not created.last_error else "error")
            return redirect(url_for("meetings.list_calendars"))
    elif request.method == "POST":
        status = 422
    return _calendars_page(url_form, upload_form, status)


def _calendars_page(url_form, upload_form, status: int):
    return render_template("meetings/calendars.html", calendars=calendars.user_calendars(current_user.id),
                           url_form=url_form, upload_form=upload_form, form=ConfirmForm(),
                           max_mb=MAX_ICS_UPLOAD // 1024 // 1024), status


@bp.post("/meetings/calendars/upload")
@roles(*SALES)
def upload_calendar():
    url_form, upload_form = CalendarUrlForm(prefix="feed"), CalendarUploadForm(prefix="upload")
    if not upload_form.validate_on_submit():
        return _calendars_page(url_form, upload_form, 422)
    upload = upload_form.file.data
    data = upload.read(MAX_ICS_UPLOAD + 1) if upload else b""
    filename = (getattr(upload, "filename", "") or "").lower()
    if not data or not filename.endswith((".ics", ".ical", ".ifb")) or len(data) > MAX_ICS_UPLOAD:
        upload_form.file.errors = [f"choose an .ics file of at most {MAX_ICS_UPLOAD // 1024 // 1024} MB"]
        return _calendars_page(url_form, upload_form, 422)
    created, status = commit_or_show_errors(
        upload_form, lambda: calendars.add_upload(current_user, upload_form.name.data, data, utcnow()))
    if not created:
        return _calendars_page(url_form, upload_form, status)
    flash(_("Calendar uploaded: %(event_count)s busy times.", event_count=created.event_count), "success")
    return redirect(url_for("meetings.list_calendars"))


@bp.post("/meetings/calendars/<int:calendar_id>/refresh")
@roles(*SALES)
def refresh_calendar(calendar_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        calendar = calendars.get_own_calendar(current_user, calendar_id)
    except ServiceError as exc:
        abort_for(exc)
    if calendar.kind != "url":
        flash(_("Upload the file again to update it."), "error")
        return redirect(url_for("meetings.list_calendars"))
    ok = calendars.refresh_calendar(calendar, current_user.time_zone or "UTC", utcnow())
    db.session.commit()
    flash(_("Calendar refreshed.")
          if ok else _("Could not refresh: %(last_error)s",
                       last_error=calendar.last_error), "success" if ok else "error")
    return redirect(url_for("meetings.list_calendars"))


@bp.post("/meetings/calendars/<int:calendar_id>/delete")
@roles(*SALES)
def delete_calendar(calendar_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    commit_or_abort(lambda: calendars.delete_calendar(current_user, calendar_id))
    flash(_("Calendar removed."), "success")
    return redirect(url_for("meetings.list_calendars"))


# --- the contact page panel -------------------------------------------------------------------

def _contact_panel(contact, viewer, now):
    tz = getattr(viewer, "time_zone", None) or "UTC"
    return {"meetings": services.contact_meetings(contact.id), "zone": av.ZoneInfo(tz), "now": now}


CONTACT_PANEL = ContactPanel(key="meetings", template="meetings/_contact_panel.html",
                                    load=_contact_panel, column="side", order=30)
