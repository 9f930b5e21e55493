"""Pages of the sequences feature: sequence list and builder, template library with stats and
preview, enrollments (filters, pause / resume / stop, holiday), enrolling from a contact page
or in bulk from a contact filter, the rep's tasks (manual email editor), and the contact-page
panel. Every view parses input, calls the services, commits, renders."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.api.bounds import check_day
from crm.contacts.models import LIFECYCLE_CHOICES, LIFECYCLE_STAGES
from crm.contacts.services import ContactPanel, find_contact_by_email, search_contacts
from crm.errors import Conflict, NotFound, ServiceError, ValidationFailed
from crm.i18n import _ as gettext
from crm.i18n import ngettext
from crm.jobs.runner import recent_jobs
from crm.sequences import bulk, library, runner, services, tasks
from crm.sequences.forms import (
    TEMPLATE_TOKENS,
    TOKENS_HINT,
    BulkEnrollForm,
    EnrollForm,
    ManualEmailForm,
    OutcomeForm,
    PauseForm,
    SequenceForm,
    StepForm,
    TemplateForm,
)
from crm.sequences.models import ENROLLMENT_STATUSES, STEP_KIND_LABELS
from crm.sequences.panel import load_contact_panel
from crm.sequences.schedule import zone
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.formhelpers import (
    abort_for,
    apply_service_errors,
    choice_list,
    commit_or_abort,
    commit_or_flash,
    commit_or_show_errors,
    int_arg,
    sales_users,
    text_arg,
)

bp = Blueprint("sequences", __name__)

CONTACT_PANEL = ContactPanel(key="sequences", template="sequences/_contact_panel.html",
                             load=load_contact_panel, column="main", order=10)


def _fields_message(exc: ServiceError) -> str:
    """A refusal's field messages in one line (what the one-click forms flash)."""
    return "; ".join(exc.fields.values()) or exc.message


def _sequence_choices(blank: str | None = None):
    pairs = [(str(i), name) for i, name in library.sequence_choices(current_user.id)]
    return choice_list(([("", blank)] if blank else []) + pairs)


def _template_choices():
    return choice_list([("", "— none: write the content below —")] +
                       [(str(i), name) for i, name in library.template_choices()])


# --- sequences ------------------------------------------------------------------------------

@bp.route("/sequences")
@roles(*SALES)
def list_sequences():
    page = library.list_sequences(page=int_arg("page") or 1)
    counts = {s.id: services.live_enrollment_count(s.id) for s in page.items}
    return render_template("sequences/list.html", page=page, counts=counts, form=SequenceForm(formdata=None))


@bp.route("/sequences/new", methods=["GET", "POST"])
@roles(*SALES)
def new_sequence():
    form = SequenceForm(data={"send_days": ["0", "1", "2", "3", "4"], "window_start": "08:00",
                              "window_end": "17:00", "colleague_reply_stops": True})
    status = 200
    if form.validate_on_submit():
        sequence, status = commit_or_show_errors(form, lambda: library.create_sequence(
            current_user, form.service_data(), utcnow()))
        if sequence is not None:
            flash(gettext("Sequence created. Add its steps."), "success")
            return redirect(url_for(".builder", sequence_id=sequence.id))
    elif request.method == "POST":
        status = 422
    return render_template("sequences/sequence_form.html", form=form, sequence=None), status


def _builder(sequence_id: int, settings: SequenceForm | None = None, step_form: StepForm | None = None,
             status: int = 200):
    try:
        sequence = services.get_sequence(sequence_id)
    except ServiceError as exc:
        abort_for(exc)
    settings = settings or SequenceForm(formdata=None, data=SequenceForm.initial(sequence))
    step_form = step_form or StepForm(formdata=None)
    step_form.template_id.choices = _template_choices()
    steps = runner.ordered_steps(sequence.id)
    return render_template(
        "sequences/builder.html", sequence=sequence, steps=steps, settings=settings, step_form=step_form,
        live=services.live_enrollment_count(sequence.id), stats=library.send_stats("step_id", [s.id for s in steps]),
        kind_labels=STEP_KIND_LABELS, tokens_hint=TOKENS_HINT, enroll_form=EnrollForm(formdata=None),
    ), status


@bp.route("/sequences/<int:sequence_id>")
@roles(*SALES)
def builder(sequence_id: int):
    return _builder(sequence_id)


@bp.route("/sequences/<int:sequence_id>/settings", methods=["POST"])
@roles(*SALES)
def save_settings(sequence_id: int):
    form = SequenceForm()
    if form.validate_on_submit():
        saved, status = commit_or_show_errors(form, lambda: library.update_sequence(
            current_user, sequence_id, form.service_data(), utcnow()))
        if saved is not None:
            flash(gettext("Sequence saved."), "success")
            return redirect(url_for(".builder", sequence_id=sequence_id))
        return _builder(sequence_id, settings=form, status=status)
    return _builder(sequence_id, settings=form, status=422)


@bp.route("/sequences/<int:sequence_id>/delete", methods=["GET", "POST"])
@roles(*SALES)
def delete_sequence(sequence_id: int):
    try:
        sequence = services.get_sequence(sequence_id)
    except ServiceError as exc:
        abort_for(exc)
    form = OutcomeForm()
    if request.method == "POST" and form.validate_on_submit():
        _, deleted = commit_or_flash(lambda: library.delete_sequence(current_user, sequence_id),
                                     refusals=(ValidationFailed,), message=_fields_message)
        if not deleted:
            return redirect(url_for(".builder", sequence_id=sequence_id))
        flash(gettext("Sequence deleted."), "success")
        return redirect(url_for(".list_sequences"))
    return render_template("_confirm.html", form=form, title=f"Delete {sequence.name}?",
                           message=gettext("The sequence and its steps are deleted. "
                                   "Emails already sent stay in the outbox history."),
                           cancel_url=url_for(".builder", sequence_id=sequence_id), action_label="Delete sequence")


# --- steps ----------------------------------------------------------------------------------

@bp.route("/sequences/<int:sequence_id>/steps", methods=["POST"])
@roles(*SALES)
def add_step(sequence_id: int):
    form = StepForm()
    form.template_id.choices = _template_choices()
    if form.validate_on_submit():
        step, status = commit_or_show_errors(form, lambda: library.add_step(
            current_user, sequence_id, form.service_data(), utcnow()))
        if step is not None:
            flash(gettext("Step added."), "success")
            return redirect(url_for(".builder", sequence_id=sequence_id, _anchor=f"step-{step.id}"))
        return _builder(sequence_id, step_form=form, status=status)
    return _builder(sequence_id, step_form=form, status=422)


@bp.route("/sequences/<int:sequence_id>/steps/<int:step_id>/edit", methods=["GET", "POST"])
@roles(*SALES)
def edit_step(sequence_id: int, step_id: int):
    try:
        sequence = services.get_sequence(sequence_id)
        step = library.get_step(sequence_id, step_id)
    except ServiceError as exc:
        abort_for(exc)
    form = StepForm(data=StepForm.initial(step))
    form.template_id.choices = _template_choices()
    status = 200
    if form.validate_on_submit():
        saved, status = commit_or_show_errors(form, lambda: library.update_step(
            current_user, sequence_id, step_id, form.service_data(), utcnow()))
        if saved is not None:
            flash(gettext("Step saved."), "success")
            return redirect(url_for(".builder", sequence_id=sequence_id, _anchor=f"step-{step_id}"))
    elif request.method == "POST":
        status = 422
    return render_template("sequences/step_form.html", form=form, sequence=sequence, step=step,
                           live=services.live_enrollment_count(sequence_id), tokens_hint=TOKENS_HINT), status


@bp.route("/sequences/<int:sequence_id>/steps/<int:step_id>/move", methods=["POST"])
@roles(*SALES)
def move_step(sequence_id: int, step_id: int):
    form = OutcomeForm()
    if not form.validate_on_submit():
        abort_for(ValidationFailed(gettext("the form expired; reload the page")))
    direction = request.form.get("direction", "")
    target = int(direction) if direction.isdigit() and len(direction) < 4 else direction
    commit_or_abort(lambda: library.move_step(current_user, sequence_id, step_id, target, utcnow()))
    return redirect(url_for(".builder", sequence_id=sequence_id, _anchor=f"step-{step_id}"))


@bp.route("/sequences/<int:sequence_id>/steps/<int:step_id>/delete", methods=["POST"])
@roles(*SALES)
def delete_step(sequence_id: int, step_id: int):
    form = OutcomeForm()
    if not form.validate_on_submit():
        abort_for(ValidationFailed(gettext("the form expired; reload the page")))
    commit_or_abort(lambda: library.delete_step(current_user, sequence_id, step_id, utcnow()))
    flash(gettext("Step deleted."), "success")
    return redirect(url_for(".builder", sequence_id=sequence_id))


# --- templates ------------------------------------------------------------------------------

@bp.route("/sequences/templates")
@roles(*SALES)
def list_templates():
    page = library.list_templates(page=int_arg("page") or 1)
    return render_template("sequences/templates.html", page=page,
                           stats=library.send_stats("template_id", [t.id for t in page.items]))


def _preview(form: TemplateForm):
    """Render the form's content for the contact named in it (nothing stored)."""
    email = (form.preview_email.data or "").strip()
    if not email:  # nobody named: the first of the rep's own contacts, rather than an error
        mine = search_contacts(owner_id=current_user.id, per_page=1).items
        email = mine[0].email if mine else ""
        form.preview_email.data = email
    contact = find_contact_by_email(email)
    if contact is None:
        form.preview_email.errors = list(form.preview_email.errors or []) + ["no contact with this email"]
        return None
    try:
        data = form.service_data()
        return library.preview(current_user, contact.id, data["subject"], data["text_body"], data["html_body"])
    except ValidationFailed as exc:
        apply_service_errors(form, exc)
        return None


def _template_page(form: TemplateForm, template=None):
    """Save, or preview when the preview button was pressed."""
    status, preview = 200, None
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            preview = _preview(form)
            status = 200 if preview is not None else 422
        else:
            data = form.service_data()
            action = (lambda: library.update_template(current_user, template.id, data, utcnow())) if template else \
                (lambda: library.create_template(current_user, data, utcnow()))
            saved, status = commit_or_show_errors(form, action)
            if saved is not None:
                flash(gettext("Template saved."), "success")
                return redirect(url_for(".list_templates"))
    elif request.method == "POST":
        status = 422
    # The rep's own contacts to pick from for the preview (a datalist: typing still works).
    preview_contacts = search_contacts(owner_id=current_user.id, per_page=PREVIEW_ROWS).items
    return render_template("sequences/template_form.html", form=form, template=template, preview=preview,
                           tokens_hint=TOKENS_HINT, tokens=TEMPLATE_TOKENS, preview_contacts=preview_contacts), status


@bp.route("/sequences/templates/new", methods=["GET", "POST"])
@roles(*SALES)
def new_template():
    return _template_page(TemplateForm())


@bp.route("/sequences/templates/<int:template_id>/edit", methods=["GET", "POST"])
@roles(*SALES)
def edit_template(template_id: int):
    try:
        template = library.get_template(template_id)
    except ServiceError as exc:
        abort_for(exc)
    form = TemplateForm(data={"name": template.name, "subject": template.subject, "text_body": template.text_body,
                              "html_body": template.html_body or ""})
    return _template_page(form, template)


@bp.route("/sequences/templates/<int:template_id>/delete", methods=["POST"])
@roles(*SALES)
def delete_template(template_id: int):
    form = OutcomeForm()
    if not form.validate_on_submit():
        abort_for(ValidationFailed(gettext("the form expired; reload the page")))
    _, deleted = commit_or_flash(lambda: library.delete_template(current_user, template_id),
                                 refusals=(ValidationFailed,), message=_fields_message)
    if deleted:
        flash(gettext("Template deleted."), "success")
    return redirect(url_for(".list_templates"))


# --- enrollments ----------------------------------------------------------------------------

@bp.route("/sequences/enrollments")
@roles(*SALES)
def list_enrollments():
    status = request.args.get("status", "")
    reason = text_arg("reason", 32)
    mine = request.args.get("mine") == "1"
    page = services.list_enrollments(
        status=status if status in ENROLLMENT_STATUSES else None, reason=reason or None,
        user_id=current_user.id if mine else int_arg("user_id"), sequence_id=int_arg("sequence_id"),
        page=int_arg("page") or 1)
    return render_template(
        "sequences/enrollments.html", page=page, statuses=ENROLLMENT_STATUSES,
        # "manual" is both a stop and a pause reason: listed once
        reasons=tuple(dict.fromkeys(services.STOP_REASONS + services.PAUSE_REASONS)), status=status, reason=reason,
        mine=mine,
        pause_form=PauseForm(formdata=None), can_act=lambda e: services.can_act_for(current_user, e.user),
    )


def _until_from(text: str | None) -> datetime | None:
    """A resume date typed on a page: midnight of that day in the user's zone."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        # Bounded before the zone conversion: 0001-01-01 east of UTC overflows datetime.
        day = check_day(date.fromisoformat(text), past=0, future=366)
    except ValueError:
        raise ValidationFailed(
            gettext("bad date"), {"until": gettext("a date such as 2026-04-20, within a year")}) from None
    return datetime.combine(day, time(0, 0), zone(current_user.time_zone)).astimezone(timezone.utc)


def _back(default: str) -> str:
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@bp.route("/sequences/enrollments/<int:enrollment_id>/<action>", methods=["POST"])
@roles(*SALES)
def enrollment_action(enrollment_id: int, action: str):
    if action not in ("pause", "resume", "stop"):
        abort_for(NotFound(gettext("no such action")))
    form = PauseForm()
    if not form.validate_on_submit():
        abort_for(ValidationFailed(gettext("the form expired; reload the page")))
    now = utcnow()

    def act():
        if action == "pause":
            services.pause_enrollment(current_user, enrollment_id, _until_from(form.until.data), now)
        elif action == "resume":
            services.resume_enrollment(current_user, enrollment_id, now)
        else:
            services.stop_enrollment(current_user, enrollment_id, "manual", now)

    _, done = commit_or_flash(act, refusals=(ValidationFailed, Conflict), message=lambda exc: (
        _fields_message(exc) if isinstance(exc, ValidationFailed) else exc.message))
    if done:
        flash({"pause": gettext("Enrollment paused."), "resume": gettext("Enrollment resumed."),
               "stop": gettext("Enrollment stopped.")}[action], "success")
    return redirect(_back(url_for(".list_enrollments")))


@bp.route("/sequences/holiday", methods=["POST"])
@roles(*SALES)
def holiday():
    form = PauseForm()
    if not form.validate_on_submit():
        abort_for(ValidationFailed(gettext("the form expired; reload the page")))
    now = utcnow()
    resume = request.form.get("action") == "resume"

    def act() -> str:
        if resume:
            ids = services.resume_all_for_user(current_user, current_user.id, now)
            return ngettext("%(num)s enrollment resumed; its dates moved forward by the time paused.",
                            "%(num)s enrollments resumed; their dates moved forward by the time paused.", len(ids))
        ids = services.pause_all_for_user(current_user, current_user.id, _until_from(form.until.data), now)
        return ngettext("%(num)s enrollment paused.", "%(num)s enrollments paused.", len(ids))

    message, done = commit_or_flash(act, refusals=(ValidationFailed,), message=_fields_message)
    if done:
        flash(message, "success")
    return redirect(url_for(".list_enrollments", mine=1))


@bp.route("/sequences/enroll", methods=["POST"])
@roles(*SALES)
def enroll_one():
    form = EnrollForm()
    form.sequence_id.choices = _sequence_choices()
    contact_id = form.contact_id.data or ""
    back = url_for("contacts.show_contact", contact_id=int(contact_id)) if contact_id.isdigit() and \
        len(contact_id) < 10 else url_for(".list_enrollments")
    if not form.validate_on_submit():
        flash(gettext("The form expired; please try again."), "error")
        return redirect(back)
    # A refusal (already active, do-not-contact...) is flashed; no such contact or not theirs: an error page.
    _, done = commit_or_flash(lambda: services.enroll_contact(current_user, form.sequence_id.data, contact_id,
                                                              utcnow()),
                              refusals=(ValidationFailed, Conflict))
    if done:
        flash(gettext("Enrolled. The first step is scheduled inside the contact's send window."), "success")
    return redirect(back)


def _bulk_filters(source) -> dict:
    owner = source.get("owner", "")
    stage = source.get("stage", "")
    return {"q": (source.get("q", "") or "")[:200],
            "owner_id": current_user.id if owner == "me" else
            (int(owner) if owner.isdigit() and len(owner) < 10 else None),
            "stage": stage if stage in LIFECYCLE_STAGES else None}


PREVIEW_ROWS = 25  # who will be enrolled: the first contacts the filters match, shown before enrolling


@bp.route("/sequences/enroll-bulk", methods=["GET", "POST"])
@roles(*SALES)
def enroll_bulk():
    source = request.form if request.method == "POST" else request.args
    if request.method == "GET" and not any(request.args.get(k) for k in ("q", "owner", "stage")):
        # Arriving without filters: the rep's own contacts, not the whole database ("Enroll 2,000").
        source = {**request.args.to_dict(), "owner": "me"}
    form = BulkEnrollForm(formdata=request.form if request.method == "POST" else None,
                          data={k: source.get(k, "") for k in ("q", "owner", "stage", "sequence_id")})
    form.sequence_id.choices = _sequence_choices()
    filters = _bulk_filters(source)
    report, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            outcome, status = commit_or_show_errors(form, lambda: bulk.enroll_in_bulk(
                current_user, form.sequence_id.data, utcnow(), filters=filters))
            if outcome is not None:
                if outcome.job is not None:  # many: the worker enrolls them, the status page follows
                    flash(gettext("Enrolling %(total)s contacts in the background.",
                                  total=f'{outcome.job.total:,}'), "success")
                    return redirect(url_for("jobs.show_job", job_id=outcome.job.id), 303)
                report = outcome.report
        else:
            status = 422
    preview = search_contacts(**filters, per_page=PREVIEW_ROWS)
    matching = preview.total
    return render_template("sequences/enroll_bulk.html", form=form, filters=filters, matching=matching,
                           preview=preview.items,
                           report=report, owners=sales_users(), stages=LIFECYCLE_CHOICES, args=source,
                           limit=services.BULK_LIMIT, sync_max=bulk.sync_max(),
                           recent_jobs=recent_jobs(current_user, bulk.KIND)), status


# --- tasks ----------------------------------------------------------------------------------

@bp.route("/sequences/tasks")
@roles(*SALES)
def my_tasks():
    return render_template("sequences/tasks.html", tasks=tasks.open_tasks(current_user.id), now=utcnow(),
                           outcome_form=OutcomeForm(formdata=None))


@bp.route("/sequences/tasks/<int:task_id>", methods=["GET", "POST"])
@roles(*SALES)
def task_page(task_id: int):
    try:
        task = tasks.get_task(task_id)
        tasks.require_task_owner(current_user, task)
    except ServiceError as exc:
        abort_for(exc)
    draft = tasks.draft_of(task)
    form = ManualEmailForm(data={"subject": draft.subject, "text_body": draft.text_body} if draft else {})
    status = 200
    if form.validate_on_submit():
        sent, status = commit_or_show_errors(form, lambda: tasks.send_manual_email(
            current_user, task_id, form.subject.data, form.text_body.data, utcnow()))
        if sent is not None:
            flash(gettext("Email queued: it goes out with your next sends."), "success")
            return redirect(url_for(".my_tasks"))
    elif request.method == "POST":
        status = 422
    return render_template("sequences/task.html", task=task, draft=draft, form=form,
                           outcome_form=OutcomeForm(formdata=None)), status


@bp.route("/sequences/tasks/<int:task_id>/done", methods=["POST"])
@roles(*SALES)
def complete_task(task_id: int):
    form = OutcomeForm()
    if not form.validate_on_submit():
        abort_for(ValidationFailed(gettext("the form expired; reload the page")))
    done, completed = commit_or_flash(lambda: tasks.complete_task(
        current_user, task_id, utcnow(), (form.outcome.data or "done").strip() or "done"), refusals=(ValidationFailed,))
    if completed:
        flash(gettext("Task done; the sequence moves on.")
              if done else gettext("This task was already done."), "success")
    return redirect(_back(url_for(".my_tasks")))
