"""JSON API of the sequences feature (``routes``, mounted on /api/v1 from the manifest): templates (CRUD and
preview), sequences and their steps, enrollments (one or bulk with per-contact refusals,
list, pause / resume / stop) and the rep's sequence tasks. Thin callers of the services."""
from __future__ import annotations

from typing import Literal

from flask import jsonify, url_for
from pydantic import AwareDatetime, Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import (
    Id,
    OutModel,
    PageOut,
    QueryModel,
    StrictModel,
    Text,
    UserRef,
    UtcDateTime,
    page_out,
    patch_model,
)
from crm.contacts.models import LIFECYCLE_STAGES
from crm.extensions import db
from crm.jobs.runner import get_job_for
from crm.sequences import bulk, library, runner, services, tasks
from crm.sequences.inputs import MAX_BODY, MAX_SUBJECT, MAX_TASK_NOTE
from crm.sequences.models import ENROLLMENT_STATUSES, MAX_DELAY_DAYS, STEP_KINDS
from crm.timeutil import utcnow
from crm.web.access import SALES, roles

routes = ApiRoutes()

StepKind = Literal[STEP_KINDS]  # type: ignore[valid-type]
Status = Literal[ENROLLMENT_STATUSES]  # type: ignore[valid-type]
StopReason = Literal[services.STOP_REASONS]  # type: ignore[valid-type]
TOKENS_HELP = ("Tokens: {{ contact.first_name }}, {{ contact.last_name }}, {{ contact.full_name }}, "
               "{{ contact.email }}, {{ contact.title }}, {{ company.name }}, {{ sender.name }}, "
               "{{ sender.signature }}, {{ meeting_link }}, {{ unsubscribe_url }}; `if`/`else` and the "
               "filters default, upper, lower, title, capitalize, trim. Anything else is refused (422).")


# --- templates --------------------------------------------------------------------------------

class TemplateIn(StrictModel):
    name: Text(200, min_length=1)
    subject: Text(500, min_length=1)
    text_body: Text(100_000, min_length=1)
    html_body: Text(100_000) | None = None


TemplatePatch = patch_model(TemplateIn, "TemplatePatch")


class StatsOut(OutModel):
    sent: int
    opened: int
    clicked: int
    replied: int
    open_rate: float | None
    click_rate: float | None
    reply_rate: float | None


class TemplateOut(OutModel):
    id: int
    name: str
    subject: str
    text_body: str
    html_body: str | None
    owner: UserRef | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    stats: StatsOut


class TemplatePage(PageOut[TemplateOut]):
    pass


class PreviewIn(StrictModel):
    contact_id: Id
    subject: Text(500) | None = Field(None, description="unsaved content to preview instead of the stored one")
    text_body: Text(100_000) | None = None
    html_body: Text(100_000) | None = None


class PreviewOut(OutModel):
    subject: str
    text_body: str
    html_body: str | None


def _stats_out(stats) -> StatsOut:
    stats = stats or library.SendStats()
    return StatsOut(sent=stats.sent, opened=stats.opened, clicked=stats.clicked, replied=stats.replied,
                    open_rate=stats.open_rate, click_rate=stats.click_rate, reply_rate=stats.reply_rate)


def _template_out(template, stats=None) -> TemplateOut:
    if stats is None:
        stats = library.send_stats("template_id", [template.id]).get(template.id)
    owner = UserRef.model_validate(template.owner) if template.owner else None
    return TemplateOut(id=template.id, name=template.name, subject=template.subject, text_body=template.text_body,
                       html_body=template.html_body, owner=owner,
                       created_at=template.created_at, updated_at=template.updated_at, stats=_stats_out(stats))


@routes.get("/templates")
@roles(*SALES)
@endpoint("List email templates", query=QueryModel, response=TemplatePage,
          description="The team library, with sent / human opens / clicks / replies per template.")
def list_templates(query: QueryModel):
    page = library.list_templates(**page_args(query))
    stats = library.send_stats("template_id", [t.id for t in page.items])
    return page_out(TemplatePage, page, lambda t: _template_out(t, stats.get(t.id, library.SendStats())))


@routes.post("/templates")
@roles(*SALES)
@endpoint("Create an email template", body=TemplateIn, response=TemplateOut, status=201, description=TOKENS_HELP)
def create_template(body: TemplateIn):
    template = library.create_template(api_user(), body.model_dump(), utcnow())
    db.session.commit()
    return _template_out(template)


@routes.get("/templates/<int:template_id>")
@roles(*SALES)
@endpoint("Read an email template", response=TemplateOut)
def get_template(template_id: int):
    return _template_out(library.get_template(template_id))


@routes.patch("/templates/<int:template_id>")
@roles(*SALES)
@endpoint("Update an email template", body=TemplatePatch, response=TemplateOut, description=TOKENS_HELP)
def update_template(template_id: int, body):
    template = library.update_template(api_user(), template_id, body.model_dump(exclude_unset=True), utcnow())
    db.session.commit()
    return _template_out(template)


@routes.delete("/templates/<int:template_id>")
@roles(*SALES)
@endpoint("Delete an email template", status=204, description="Refused (422) while a step uses it.")
def delete_template(template_id: int):
    library.delete_template(api_user(), template_id)
    db.session.commit()


@routes.post("/templates/<int:template_id>/preview")
@roles(*SALES)
@endpoint("Preview a template for a contact", body=PreviewIn, response=PreviewOut,
          description="Renders the stored template (or the unsaved parts sent) as this contact would get it "
                      "from you. Nothing is stored or sent.")
def preview_template(template_id: int, body: PreviewIn):
    template = library.get_template(template_id)
    rendered = library.preview(
        api_user(), body.contact_id, body.subject if body.subject is not None else template.subject,
        body.text_body if body.text_body is not None else template.text_body,
        body.html_body if body.html_body is not None else template.html_body)
    return PreviewOut(subject=rendered.subject, text_body=rendered.text_body, html_body=rendered.html_body)


# --- sequences and steps ----------------------------------------------------------------------

Minute = Text(5, min_length=4)


class SequenceIn(StrictModel):
    name: Text(200, min_length=1)
    send_days: list[int] = Field([0, 1, 2, 3, 4], min_length=1, max_length=7,
                                 description="weekdays of the send window, 0 = Monday")
    window_start: Minute = Field("08:00", description="HH:MM in the contact's time zone")
    window_end: Minute = Field("17:00", description="HH:MM in the contact's time zone")
    colleague_reply_stops: bool = True


SequencePatch = patch_model(SequenceIn, "SequencePatch")


class StepIn(StrictModel):
    kind: StepKind
    delay_days: int = Field(0, ge=0, le=MAX_DELAY_DAYS,
                            description="business days after the previous step, on the rep's calendar")
    template_id: Id | None = None
    subject: Text(MAX_SUBJECT) | None = Field(None, description="own subject when no template is used")
    text_body: Text(MAX_BODY) | None = None
    html_body: Text(MAX_BODY) | None = None
    new_thread: bool = Field(False, description="a follow-up with its own subject instead of 'Re: <first subject>'")
    task_note: Text(MAX_TASK_NOTE) | None = None


StepPatch = patch_model(StepIn, "StepPatch")


class StepOrderIn(StrictModel):
    step_ids: list[Id] = Field(max_length=100)


class StepOut(OutModel):
    id: int
    position: int
    kind: str
    delay_days: int
    template_id: int | None
    subject: str | None
    text_body: str | None
    html_body: str | None
    new_thread: bool
    task_note: str | None
    stats: StatsOut


class SequenceOut(OutModel):
    id: int
    name: str
    owner: UserRef | None
    send_days: list[int]
    window_start: str
    window_end: str
    colleague_reply_stops: bool
    live_enrollments: int
    steps: list[StepOut]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class SequencePage(PageOut[SequenceOut]):
    pass


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _sequence_out(sequence) -> SequenceOut:
    steps = runner.ordered_steps(sequence.id)
    stats = library.send_stats("step_id", [s.id for s in steps])
    return SequenceOut(
        id=sequence.id, name=sequence.name, owner=UserRef.model_validate(sequence.owner) if sequence.owner else None,
        send_days=sequence.send_days or [], window_start=_hhmm(sequence.window_start_minute),
        window_end=_hhmm(sequence.window_end_minute), colleague_reply_stops=sequence.colleague_reply_stops,
        live_enrollments=services.live_enrollment_count(sequence.id),
        steps=[StepOut(id=s.id, position=s.position, kind=s.kind, delay_days=s.delay_days, template_id=s.template_id,
                       subject=s.subject, text_body=s.text_body, html_body=s.html_body, new_thread=s.new_thread,
                       task_note=s.task_note, stats=_stats_out(stats.get(s.id))) for s in steps],
        created_at=sequence.created_at, updated_at=sequence.updated_at,
    )


@routes.get("/sequences")
@roles(*SALES)
@endpoint("List sequences", query=QueryModel, response=SequencePage)
def list_sequences(query: QueryModel):
    return page_out(SequencePage, library.list_sequences(**page_args(query)), _sequence_out)


@routes.post("/sequences")
@roles(*SALES)
@endpoint("Create a sequence", body=SequenceIn, response=SequenceOut, status=201)
def create_sequence(body: SequenceIn):
    sequence = library.create_sequence(api_user(), body.model_dump(), utcnow())
    db.session.commit()
    return _sequence_out(sequence)


@routes.get("/sequences/<int:sequence_id>")
@roles(*SALES)
@endpoint("Read a sequence with its steps", response=SequenceOut)
def get_sequence(sequence_id: int):
    return _sequence_out(services.get_sequence(sequence_id))


@routes.patch("/sequences/<int:sequence_id>")
@roles(*SALES)
@endpoint("Update a sequence", body=SequencePatch, response=SequenceOut)
def update_sequence(sequence_id: int, body):
    sequence = library.update_sequence(api_user(), sequence_id, body.model_dump(exclude_unset=True), utcnow())
    db.session.commit()
    return _sequence_out(sequence)


@routes.delete("/sequences/<int:sequence_id>")
@roles(*SALES)
@endpoint("Delete a sequence", status=204, description="Refused (422) while it has live enrollments.")
def delete_sequence(sequence_id: int):
    library.delete_sequence(api_user(), sequence_id)
    db.session.commit()


@routes.post("/sequences/<int:sequence_id>/steps")
@roles(*SALES)
@endpoint("Add a step at the end", body=StepIn, response=SequenceOut, status=201,
          description="Editing an active sequence affects only steps its enrollments have not done yet.")
def add_step(sequence_id: int, body: StepIn):
    library.add_step(api_user(), sequence_id, body.model_dump(exclude_unset=True), utcnow())
    db.session.commit()
    return _sequence_out(services.get_sequence(sequence_id))


@routes.patch("/sequences/<int:sequence_id>/steps/<int:step_id>")
@roles(*SALES)
@endpoint("Update a step", body=StepPatch, response=SequenceOut,
          description="Emails already sent are not changed; enrollments pick the change up on steps not yet done.")
def update_step(sequence_id: int, step_id: int, body):
    library.update_step(api_user(), sequence_id, step_id, body.model_dump(exclude_unset=True), utcnow())
    db.session.commit()
    return _sequence_out(services.get_sequence(sequence_id))


@routes.delete("/sequences/<int:sequence_id>/steps/<int:step_id>")
@roles(*SALES)
@endpoint("Delete a step", status=204)
def delete_step(sequence_id: int, step_id: int):
    library.delete_step(api_user(), sequence_id, step_id, utcnow())
    db.session.commit()


@routes.post("/sequences/<int:sequence_id>/steps/order")
@roles(*SALES)
@endpoint("Reorder the steps", body=StepOrderIn, response=SequenceOut,
          description="Every step id of the sequence, once, in the new order.")
def reorder_steps(sequence_id: int, body: StepOrderIn):
    library.reorder_steps(api_user(), sequence_id, body.step_ids, utcnow())
    db.session.commit()
    return _sequence_out(services.get_sequence(sequence_id))


# --- enrollments ------------------------------------------------------------------------------

class EnrollIn(StrictModel):
    sequence_id: Id
    contact_id: Id


class ContactFilter(StrictModel):
    q: Text(200) = ""
    owner_id: Id | None = None
    lifecycle_stage: Literal[LIFECYCLE_STAGES] | None = None  # type: ignore[valid-type]
    company_id: Id | None = None


class BulkEnrollIn(StrictModel):
    """Either explicit ``contact_ids`` or a ``filter`` (the contacts list's search)."""

    sequence_id: Id
    contact_ids: list[Id] | None = Field(None, max_length=services.BULK_LIMIT)
    filter: ContactFilter | None = None


class RefusalOut(OutModel):
    contact_id: int
    name: str
    reason: str = Field(description="do_not_contact, unsubscribed, bounced, already_active, no_email, "
                                    "not_permitted or not_found")
    message: str


class BulkEnrollOut(OutModel):
    enrolled: list[int]
    refused: list[RefusalOut]


class ContactRef(OutModel):
    id: int
    email: str
    full_name: str


class SequenceRef(OutModel):
    id: int
    name: str


class EnrollmentOut(OutModel):
    id: int
    sequence: SequenceRef
    contact: ContactRef
    user: UserRef
    status: str
    stop_reason: str | None
    pause_reason: str | None
    paused_until: UtcDateTime | None
    current_step_id: int | None
    steps_done: int
    next_due_at: UtcDateTime | None
    awaiting: str | None
    thread_message_id: str | None
    soft_bounce_count: int
    last_error: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    ended_at: UtcDateTime | None


class EnrollmentPage(PageOut[EnrollmentOut]):
    pass


class EnrollmentQuery(QueryModel):
    status: Status | None = None
    reason: Literal[services.STOP_REASONS + services.PAUSE_REASONS] | None = None  # type: ignore[valid-type]
    user_id: Id | None = None
    sequence_id: Id | None = None
    contact_id: Id | None = None


class PauseIn(StrictModel):
    until: AwareDatetime | None = Field(None, description="resume automatically then; none: until resumed")


class ResumeIn(StrictModel):
    pass


class StopIn(StrictModel):
    reason: StopReason = "manual"


class HolidayIn(StrictModel):
    user_id: Id
    until: AwareDatetime | None = None


class IdsOut(OutModel):
    ids: list[int]


def _enrollment_out(enrollment) -> EnrollmentOut:
    return EnrollmentOut.model_validate(enrollment)


@routes.get("/enrollments")
@roles(*SALES)
@endpoint("List enrollments", query=EnrollmentQuery, response=EnrollmentPage)
def list_enrollments(query: EnrollmentQuery):
    page = services.list_enrollments(status=query.status, reason=query.reason, user_id=query.user_id,
                                     sequence_id=query.sequence_id, contact_id=query.contact_id, **page_args(query))
    return page_out(EnrollmentPage, page, _enrollment_out)


@routes.post("/enrollments")
@roles(*SALES)
@endpoint("Enroll a contact", body=EnrollIn, response=EnrollmentOut, status=201,
          description="409 when the contact is already active in a sequence; 422 with the reason for "
                      "do-not-contact, unsubscribed, bounced or address-less contacts.")
def enroll(body: EnrollIn):
    enrollment = services.enroll_contact(api_user(), body.sequence_id, body.contact_id, utcnow())
    db.session.commit()
    return _enrollment_out(services.get_enrollment(enrollment.id))


class BulkJobOut(OutModel):
    id: int
    url: str = Field(description="poll it (GET) for progress and, once done, the result")
    status: Literal["queued", "running", "done", "failed"]
    total: int = Field(description="contacts to enroll")
    done: int = Field(description="contacts handled so far (enrolled or refused)")
    error_count: int = Field(description="contacts refused so far")
    error: str | None = Field(description="why the job failed, when it did")
    created_at: UtcDateTime
    finished_at: UtcDateTime | None
    result: BulkEnrollOut | None = Field(description="when done (or failed part-way): who was enrolled and "
                                                     "who refused, so far")


def _bulk_job_out(job) -> BulkJobOut:
    result = job.result or {}
    return BulkJobOut(
        id=job.id, url=url_for("api.get_bulk_enroll_job", job_id=job.id, _external=False), status=job.status,
        total=job.total, done=job.done, error_count=job.error_count, error=job.error,
        created_at=job.created_at, finished_at=job.finished_at,
        result=BulkEnrollOut(enrolled=result.get("enrolled", []),
                             refused=[RefusalOut(**r) for r in result.get("refused", [])]) if result else None)


@routes.post("/enrollments/bulk")
@roles(*SALES)
@endpoint("Enroll many contacts", body=BulkEnrollIn, response=BulkEnrollOut,
          description=f"At most {services.BULK_LIMIT} contacts; each is enrolled or refused with its reason. "
                      f"Up to {bulk.SYNC_MAX} contacts are enrolled at once (200 with the report); more are "
                      "enrolled by the worker: the answer is then 202 with the job (`BulkJobOut`, its `url` "
                      "in `Location`), to poll for progress and the report.")
def enroll_bulk(body: BulkEnrollIn):
    actor, now = api_user(), utcnow()
    if body.contact_ids is not None:
        outcome = bulk.enroll_in_bulk(actor, body.sequence_id, now, contact_ids=body.contact_ids)
    else:
        f = body.filter or ContactFilter()
        outcome = bulk.enroll_in_bulk(actor, body.sequence_id, now, filters={
            "q": f.q, "owner_id": f.owner_id, "stage": f.lifecycle_stage, "company_id": f.company_id})
    db.session.commit()
    if outcome.job is not None:
        answer = _bulk_job_out(outcome.job)
        response = jsonify(answer.model_dump(mode="json"))
        response.status_code, response.headers["Location"] = 202, answer.url
        return response
    report = outcome.report
    return BulkEnrollOut(enrolled=report.enrolled, refused=[RefusalOut(**r) for r in report.refused])


@routes.get("/enrollments/bulk/jobs/<int:job_id>")
@roles(*SALES)
@endpoint("A bulk enrollment running in the background", response=BulkJobOut,
          description="Progress (`done` of `total`, `error_count` refused) and, once done, the report. "
                      "Only the rep who asked, their manager or an admin sees it (404 for anyone else).")
def get_bulk_enroll_job(job_id: int):
    return _bulk_job_out(get_job_for(api_user(), job_id, kind=bulk.KIND))


@routes.get("/enrollments/<int:enrollment_id>")
@roles(*SALES)
@endpoint("Read an enrollment", response=EnrollmentOut)
def get_enrollment(enrollment_id: int):
    return _enrollment_out(services.get_enrollment(enrollment_id))


@routes.post("/enrollments/<int:enrollment_id>/pause")
@roles(*SALES)
@endpoint("Pause an enrollment", body=PauseIn, response=EnrollmentOut,
          description="Resuming moves every pending date forward by the time spent paused.")
def pause(enrollment_id: int, body: PauseIn):
    services.pause_enrollment(api_user(), enrollment_id, body.until, utcnow())
    db.session.commit()
    return _enrollment_out(services.get_enrollment(enrollment_id))


@routes.post("/enrollments/<int:enrollment_id>/resume")
@roles(*SALES)
@endpoint("Resume a paused enrollment", body=ResumeIn, response=EnrollmentOut)
def resume(enrollment_id: int, body: ResumeIn):
    services.resume_enrollment(api_user(), enrollment_id, utcnow())
    db.session.commit()
    return _enrollment_out(services.get_enrollment(enrollment_id))


@routes.post("/enrollments/<int:enrollment_id>/stop")
@roles(*SALES)
@endpoint("Stop an enrollment", body=StopIn, response=EnrollmentOut)
def stop(enrollment_id: int, body: StopIn):
    services.stop_enrollment(api_user(), enrollment_id, body.reason, utcnow())
    db.session.commit()
    return _enrollment_out(services.get_enrollment(enrollment_id))


@routes.post("/enrollments/holiday")
@roles(*SALES)
@endpoint("Pause all of a rep's active enrollments", body=HolidayIn, response=IdsOut,
          description="For a holiday: reps for themselves, managers for their team, admins for anyone.")
def holiday(body: HolidayIn):
    ids = services.pause_all_for_user(api_user(), body.user_id, body.until, utcnow())
    db.session.commit()
    return IdsOut(ids=ids)


@routes.post("/enrollments/holiday/end")
@roles(*SALES)
@endpoint("Resume all of a rep's paused enrollments", body=HolidayIn, response=IdsOut)
def holiday_end(body: HolidayIn):
    ids = services.resume_all_for_user(api_user(), body.user_id, utcnow())
    db.session.commit()
    return IdsOut(ids=ids)


# --- tasks ------------------------------------------------------------------------------------

class TaskOut(OutModel):
    id: int
    kind: str
    contact_id: int
    enrollment_id: int
    note: str | None
    due_at: UtcDateTime
    done_at: UtcDateTime | None
    outcome: str | None
    outbound_email_id: int | None


class TaskList(OutModel):
    items: list[TaskOut]


class TaskDoneIn(StrictModel):
    outcome: Text(40, min_length=1) = "done"


class TaskDoneOut(OutModel):
    completed: bool = Field(description="false when the task was already done")


@routes.get("/sequence-tasks")
@roles(*SALES)
@endpoint("My open sequence tasks", response=TaskList)
def my_tasks():
    return TaskList(items=[TaskOut.model_validate(t) for t in tasks.open_tasks(api_user().id)])


@routes.post("/sequence-tasks/<int:task_id>/complete")
@roles(*SALES)
@endpoint("Complete a call or social task", body=TaskDoneIn, response=TaskDoneOut,
          description="The enrollment moves on to its next step. Manual emails are completed by sending them.")
def complete_task(task_id: int, body: TaskDoneIn):
    done = tasks.complete_task(api_user(), task_id, utcnow(), body.outcome)
    db.session.commit()
    return TaskDoneOut(completed=done)
