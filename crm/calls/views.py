"""Pages of the calls feature: My day (the queue), the focused working page, time blocks and
the calendar, the secret ICS feed, call scripts, plan versus actual. Views parse,
call the services, commit and render."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.api.bounds import check_day
from crm.auth.models import User
from crm.calls import blocks as block_service
from crm.calls import queue as queue_service
from crm.calls.forms import BlockForm, LogCallForm, ScriptForm, SettingsForm
from crm.calls.ics import feed_calendar
from crm.calls.models import OUTCOME_LABELS, OUTCOMES, REASON_LABELS, CallQueueEntry, CallTask
from crm.calls.outcomes import complete_follow_up, log_call, open_follow_ups
from crm.calls.permissions import rep_for
from crm.calls.plan import team_plan, week_start
from crm.calls.scripts import delete_script, get_script, list_scripts, objections_text, parse_objections, save_script
from crm.calls.settings import (
    feed_url,
    regenerate_feed_token,
    set_calls_per_hour,
    settings_for,
    stored_settings,
    user_id_for_feed_token,
)
from crm.calls.workpage import describe_activity, work_context
from crm.contacts.models import Activity
from crm.contacts.services import ContactPanel
from crm.errors import ServiceError, ValidationFailed
from crm.extensions import db, limiter
from crm.i18n import _ as gettext
from crm.meetings.services import meetings_between
from crm.recordings import services as recordings
from crm.targets.services import my_day_targets
from crm.timeutil import utcnow
from crm.web.access import SALES, public, roles
from crm.web.formatting import format_clock
from crm.web.formhelpers import abort_for, commit_or_abort, commit_or_show_errors, int_arg

bp = Blueprint("calls", __name__)

SHORTCUTS = {"connected": "c", "voicemail": "v", "no_answer": "a", "wrong_number": "w",
             "not_interested": "x", "meeting_booked": "m", "callback": "b"}


def _date_arg(name: str = "date") -> date | None:
    """A day from the query string, or None (the page's default) when it is junk or lies
    outside the range the API accepts for a day of records (``crm.api.bounds.check_day``):
    weeks at the ends of the calendar overflow date arithmetic, and a day centuries away is
    no day anyone plans. An out-of-range day is said on the page, junk silently ignored."""
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    try:
        return check_day(day)
    except ValueError as exc:
        flash(gettext("%(isoformat)s is out of range (%(exc)s); showing today instead.",
                      isoformat=day.isoformat(), exc=exc), "error")
        return None


def _viewed_rep():
    try:
        return rep_for(current_user, int_arg("user_id"))
    except ServiceError as exc:
        abort_for(exc)


def _local(moment: datetime | None, user) -> str:
    if moment is None:
        return ""
    return format_clock(moment, user.time_zone or "UTC")


@bp.app_template_filter("rep_time")
def rep_time(moment, user=None):
    return _local(moment, user or current_user)


# --- My day ---------------------------------------------------------------------------------

@bp.route("/calls")
@roles(*SALES)
def my_day():
    """Reads only. The morning job builds the queue; before it has run today (or with no
    worker in development) the rep's own page shows the queue a build would store, and
    "Start calling" (a POST) stores it."""
    rep = _viewed_rep()
    now = utcnow()
    day = queue_service.today_for(rep, now)
    own = rep.id == current_user.id
    entries = queue_service.queue_entries(rep.id, day, include_done=True)
    open_entries: list = [e for e in entries if e.status == "queued"]
    preview = own and not queue_service.queue_built(rep, now)
    if preview:
        open_entries = queue_service.preview_queue(rep, now, day)
    targets = my_day_targets(rep, now)
    return render_template(
        "calls/my_day.html", rep=rep, day=day, now=now, entries=entries, open_entries=open_entries,
        logged=[e for e in entries if e.status != "queued"], preview=preview,
        blocks=block_service.day_occurrences(rep, day), capacity=queue_service.capacity_for(rep, day, now),
        settings=stored_settings(rep), follow_ups=open_follow_ups(rep.id, now + timedelta(days=1)),
        own=own, outcome_labels=OUTCOME_LABELS, reason_labels=REASON_LABELS, target_months=targets.months,
        target_rows=targets.rows, target_missing_rates=targets.missing_rates,
        target_currency=targets.currency,
    )


def _build_if_missing(user, now) -> None:
    """The morning job builds the queue; a rep who starts calling before it ran (or who has
    no worker in development) gets it built on the spot, once a day. Flushes."""
    if queue_service.queue_built(user, now):
        return
    try:
        queue_service.build_queue(user, now)
    except queue_service.QueueRaced:  # the morning job built it at the same moment: theirs stands
        pass


@bp.route("/calls/queue/build", methods=["POST"])
@roles(*SALES)
def build_queue():
    """Build (or rebuild) the rep's queue; ``then=work`` goes on to the first call."""
    try:
        entries = queue_service.build_queue(current_user, utcnow())
    except queue_service.QueueRaced:  # the morning job built it at the same moment: show that one
        flash(gettext("The queue was just rebuilt; here it is."), "info")
    else:
        flash(gettext("Your queue has %(value)s calls.", value=len(entries)), "success")
    db.session.commit()
    return redirect(url_for(".work_next" if request.form.get("then") == "work" else ".my_day"))


@bp.route("/calls/poll")
@roles(*SALES)
def poll():
    """Small JSON for the queue pages: live intent joins, what is next, how many are left."""
    now = utcnow()
    joined = queue_service.refresh_live_intent(current_user, now)
    db.session.commit()
    day = queue_service.today_for(current_user, now)
    entries = queue_service.queue_entries(current_user.id, day)
    upcoming = queue_service.next_entry(current_user, now)
    return jsonify({
        "joined": joined, "queued": len(entries), "next_entry_id": upcoming.id if upcoming else None,
        "live": [{"entry_id": e.id, "position": e.position, "name": e.contact.full_name, "reason": e.reason}
                 for e in entries if e.reason_code == "live_intent"][:10],
    })


# --- working the queue ------------------------------------------------------------------------

@bp.route("/calls/work")
@roles(*SALES)
def work_next():
    now = utcnow()
    _build_if_missing(current_user, now)
    queue_service.refresh_live_intent(current_user, now)
    db.session.commit()
    entry = queue_service.next_entry(current_user, now)
    if entry is None:
        return render_template("calls/work_done.html", now=now,
                               remaining=queue_service.queue_entries(current_user.id,
                                                                     queue_service.today_for(current_user, now)))
    return redirect(url_for(".work_entry", entry_id=entry.id))


def _own_entry(entry_id: int) -> CallQueueEntry:
    entry = db.session.get(CallQueueEntry, entry_id)
    if entry is None or entry.user_id != current_user.id:
        abort(404)
    return entry


def _render_work(entry, form, status=200):
    context = work_context(entry, utcnow(), current_user)
    return render_template("calls/work.html", form=form, shortcuts=SHORTCUTS, outcomes=OUTCOMES,
                           reason_labels=REASON_LABELS, outcome_labels=OUTCOME_LABELS, describe=describe_activity,
                           objections_text=objections_text, **context), status


@bp.route("/calls/work/<int:entry_id>")
@roles(*SALES)
def work_entry(entry_id: int):
    entry = _own_entry(entry_id)
    if entry.status != "queued":
        flash(gettext("%(full_name)s was already logged today.", full_name=entry.contact.full_name), "info")
        return redirect(url_for(".work_next"))
    return _render_work(entry, LogCallForm(formdata=None))


def _callback_time(text: str | None) -> datetime | None:
    """``YYYY-MM-DDTHH:MM`` (a datetime-local input) in the rep's zone, as UTC."""
    if not text:
        return None
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(gettext("invalid callback time"), {"callback_at": gettext("a date and time")}) from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(current_user.time_zone or "UTC"))


@bp.route("/calls/work/<int:entry_id>/log", methods=["POST"])
@roles(*SALES)
def log_entry(entry_id: int):
    entry = _own_entry(entry_id)
    form = LogCallForm()
    if not form.validate_on_submit():
        return _render_work(entry, form, 422)
    now = utcnow()

    def log():
        follow_up = None
        if form.follow_up_title.data:
            due = form.follow_up_due.data or queue_service.today_for(current_user, now) + timedelta(days=1)
            follow_up = {"title": form.follow_up_title.data,
                         "due_at": block_service.local_to_utc(due, datetime.min.time().replace(hour=9),
                                                              current_user.time_zone or "UTC")}
        return log_call(current_user, contact_id=entry.contact_id, entry_id=entry.id, outcome=form.outcome.data,
                        notes=form.notes.data or "", duration_seconds=form.duration_seconds.data,
                        callback_at=_callback_time(form.callback_at.data), follow_up=follow_up, now=now)

    logged, status = commit_or_show_errors(form, log, apply_errors=_call_errors)
    if status == 409:
        return redirect(url_for(".work_next"))
    if logged is None:
        return _render_work(entry, form, 422)
    flash(gettext("Logged: %(data)s with %(full_name)s.",
                  data=gettext(OUTCOME_LABELS[form.outcome.data]), full_name=entry.contact.full_name), "success")
    return redirect(url_for(".work_next"))


def _call_errors(form, exc: ServiceError) -> None:
    """A call logged twice (another tab) is said and the page moves on; a missing entry or
    contact is its error page; anything else goes next to its field."""
    if exc.status == 409:
        flash(exc.message, "error")
        return
    if exc.status in (403, 404):
        abort_for(exc)
    for name, message in exc.fields.items():
        field = getattr(form, name.split(".")[0].replace("follow_up", "follow_up_title"), None)
        (field.errors.append(message) if field is not None else form.form_errors.append(message))


@bp.route("/calls/work/<int:entry_id>/skip", methods=["POST"])
@roles(*SALES)
def skip_entry(entry_id: int):
    _own_entry(entry_id)
    queue_service.skip_entry(current_user, entry_id, utcnow())
    db.session.commit()
    return redirect(url_for(".work_next"))


@bp.route("/calls/follow-ups/<int:task_id>/done", methods=["POST"])
@roles(*SALES)
def follow_up_done(task_id: int):
    complete_follow_up(current_user, task_id, utcnow())
    db.session.commit()
    return redirect(url_for(".my_day"))


# --- time blocks, settings, calendar, feed ------------------------------------------------------

def _render_blocks(form, settings_form, status=200):
    settings = settings_for(current_user, utcnow())
    db.session.commit()
    blocks = block_service.blocks_of(current_user.id)
    return render_template("calls/blocks.html", form=form, settings_form=settings_form, blocks=blocks,
                           describe=block_service.describe, feed=feed_url(settings), settings=settings), status


@bp.route("/calls/blocks", methods=["GET", "POST"])
@roles(*SALES)
def blocks():
    form = BlockForm()
    settings_form = SettingsForm(formdata=None, calls_per_hour=settings_for(current_user).calls_per_hour)
    if request.method == "POST":
        if not form.validate_on_submit():
            return _render_blocks(form, settings_form, 422)
        data = {key: getattr(form, key).data for key in
                ("title", "kind", "start_time", "end_time", "on_date", "valid_from", "valid_until", "allow_overlap")}
        data["weekdays"] = form.weekdays.data or []
        # The API's bounds on a block's days (``RecordDay``): a day at the end of the calendar
        # overflows the service's date arithmetic (a 500), one centuries away is a typo.
        out_of_range = False
        for key in ("on_date", "valid_from", "valid_until"):
            if data[key] is None:
                continue
            try:
                check_day(data[key])
            except ValueError as exc:
                getattr(form, key).errors = [*getattr(form, key).errors, str(exc)]
                out_of_range = True
        if out_of_range:
            return _render_blocks(form, settings_form, 422)
        created, status = commit_or_show_errors(
            form, lambda: _resized(block_service.create_block(current_user, data, utcnow())),
            apply_errors=_block_errors)
        if created is None:
            return _render_blocks(form, settings_form, status)
        flash(gettext("Time block saved."), "success")
        return redirect(url_for(".blocks"))
    return _render_blocks(BlockForm(formdata=None), settings_form)


def _resized(result):
    """After a change to the rep's blocks or pace: today's built queue takes the new size."""
    queue_service.resize_after_change(current_user, utcnow())
    return result if result is not None else True


def _block_errors(form, exc: ServiceError) -> None:
    if isinstance(exc, block_service.BlockOverlapsMeeting):
        # The message names the meeting; the checkbox next to it is the way through (409).
        form.form_errors.append(exc.message)
        form.allow_overlap.errors = [*form.allow_overlap.errors, exc.fields["allow_overlap"]]
        return
    if not isinstance(exc, ValidationFailed):
        abort_for(exc)
    for name, message in exc.fields.items():
        getattr(form, name, form.title).errors.append(message)


@bp.route("/calls/blocks/<int:block_id>/delete", methods=["POST"])
@roles(*SALES)
def delete_block(block_id: int):
    commit_or_abort(lambda: _resized(block_service.delete_block(current_user, block_id)))
    flash(gettext("Time block deleted."), "success")
    return redirect(url_for(".blocks"))


@bp.route("/calls/settings", methods=["POST"])
@roles(*SALES)
def save_settings():
    form = SettingsForm()
    if form.validate_on_submit():
        commit_or_abort(lambda: _resized(set_calls_per_hour(current_user, form.calls_per_hour.data, utcnow())))
        flash(gettext("Settings saved."), "success")
        return redirect(url_for(".blocks"))
    return _render_blocks(BlockForm(formdata=None), form, 422)


@bp.route("/calls/feed/regenerate", methods=["POST"])
@roles(*SALES)
def regenerate_feed():
    commit_or_abort(lambda: regenerate_feed_token(current_user, utcnow()))
    flash(gettext("New calendar feed URL: subscribe again with it; the old one no longer works."), "success")
    return redirect(url_for(".blocks"))


def _feed_limit() -> str:
    return current_app.config.get("CALL_FEED_RATE_LIMIT", "60 per minute")


@bp.route("/calls/feed/<token>.ics")
@public
@limiter.limit(_feed_limit)
def feed(token: str):
    """The rep's blocks (and meetings) for Google Calendar / Outlook; the token is the secret."""
    user_id = user_id_for_feed_token(token)
    user = db.session.get(User, user_id) if user_id else None
    if user is None or not user.is_active:
        return Response("not found\n", status=404, mimetype="text/plain")
    body = feed_calendar(user, utcnow())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="prospecting.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/calls/calendar")
@roles(*SALES)
def calendar():
    rep = _viewed_rep()
    now = utcnow()
    view = "day" if request.args.get("view") == "day" else "week"
    day = _date_arg() or queue_service.today_for(rep, now)
    first = day if view == "day" else week_start(day)
    days = [first + timedelta(days=i) for i in range(1 if view == "day" else 7)]
    zone = rep.time_zone or "UTC"
    start, _ = block_service.day_bounds(days[0], zone)
    _, end = block_service.day_bounds(days[-1], zone)
    occurrences = block_service.occurrences(block_service.blocks_of(rep.id), start, end)
    meetings = meetings_between(rep.id, start, end)
    tz = ZoneInfo(zone)
    columns = []
    for d in days:
        items = [("block", o.title, o.start, o.end) for o in occurrences if o.local_date == d]
        items += [("meeting", m.title, m.start, m.end) for m in meetings if m.start.astimezone(tz).date() == d]
        columns.append((d, sorted(items, key=lambda item: item[2])))
    step = timedelta(days=1 if view == "day" else 7)
    return render_template("calls/calendar.html", rep=rep, view=view, columns=columns, day=day,
                           prev_day=first - step, next_day=first + step, zone=zone)


# --- scripts -------------------------------------------------------------------------------------

@bp.route("/calls/scripts")
@roles(*SALES)
def scripts():
    return render_template("calls/scripts.html", scripts=list_scripts())


def _script_data(form) -> dict:
    return {"name": form.name.data, "body": form.body.data,
            "objections": parse_objections(form.objections.data or "")}


@bp.route("/calls/scripts/new", methods=["GET", "POST"])
@bp.route("/calls/scripts/<int:script_id>/edit", methods=["GET", "POST"])
@roles("manager", "admin")
def edit_script(script_id: int | None = None):
    script = None
    if script_id is not None:
        try:
            script = get_script(script_id)
        except ServiceError as exc:
            abort_for(exc)
    form = ScriptForm(formdata=request.form if request.method == "POST" else None,
                      data={"name": script.name, "body": script.body,
                            "objections": objections_text(script)} if script else None)
    if request.method == "POST" and form.validate_on_submit():
        saved, _status = commit_or_show_errors(
            form, lambda: save_script(current_user, _script_data(form), utcnow(), script_id),
            apply_errors=_script_errors)
        if saved is not None:
            flash(gettext("Script saved."), "success")
            return redirect(url_for(".scripts"))
    status = 422 if request.method == "POST" else 200
    return render_template("calls/script_form.html", form=form, script=script), status


def _script_errors(form, exc: ServiceError) -> None:
    if not isinstance(exc, ValidationFailed):
        abort_for(exc)
    for name, message in exc.fields.items():
        getattr(form, name, form.name).errors.append(message)


@bp.route("/calls/scripts/<int:script_id>/delete", methods=["POST"])
@roles("manager", "admin")
def remove_script(script_id: int):
    commit_or_abort(lambda: delete_script(current_user, script_id))
    flash(gettext("Script deleted."), "success")
    return redirect(url_for(".scripts"))


# --- plan versus actual --------------------------------------------------------------------

@bp.route("/calls/plan")
@roles(*SALES)
def plan():
    now = utcnow()
    period = "day" if request.args.get("period") == "day" else "week"
    day = _date_arg() or queue_service.today_for(current_user, now)
    start = day if period == "day" else week_start(day)
    days = 1 if period == "day" else 7
    rows = team_plan(current_user, start, days)
    step = timedelta(days=days)
    return render_template("calls/plan.html", rows=rows, period=period, start=start, days=days,
                           prev_day=start - step, next_day=start + step)


# --- recordings ---------------------------------------------------------------------------------

@bp.route("/calls/recordings/<int:activity_id>", methods=["GET", "POST"])
@roles(*SALES)
def recording(activity_id: int):
    """The old address of the attach page (bookmarks, the My day link): the recordings feature's."""
    return redirect(url_for("recordings.attach", activity_id=activity_id), code=308)


# --- the contact page panel ----------------------------------------------------------------

def _contact_panel(contact, viewer, now) -> dict:
    """The last calls, open callbacks / follow-ups and which calls have a recording the viewer may
    hear (3 queries)."""
    calls = db.session.scalars(
        select(Activity).options(joinedload(Activity.user))
        .where(Activity.contact_id == contact.id, Activity.kind == "call")
        .order_by(Activity.occurred_at.desc()).limit(5)).all()
    tasks = db.session.scalars(
        select(CallTask).where(CallTask.contact_id == contact.id, CallTask.done_at.is_(None))
        .order_by(CallTask.due_at).limit(5)).all()
    return {"calls": calls, "open_tasks": tasks,
            "recordings": recordings.recorded_call_ids(viewer, [c.id for c in calls])}


CONTACT_PANEL = ContactPanel(key="calls", template="calls/_contact_panel.html", load=_contact_panel,
                             column="side", order=40)
