"""JSON API routes of the tracking feature (``routes``, mounted on /api/v1 from the manifest): the events (raw,
with verdicts), server-side page-view ingest, companies on the site, recomputing verdicts (a
background job: ``crm/tracking/background.py``)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from flask import current_app, jsonify, url_for
from pydantic import Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, PageOut, QueryModel, StrictModel, Text, UtcDateTime, page_out
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.jobs.runner import get_job_for
from crm.timeutil import utcnow
from crm.tracking import background, queries, website
from crm.tracking.events import RequestFacts
from crm.tracking.inbox import process_all
from crm.tracking.models import EVENT_KINDS, VERDICTS
from crm.web.access import SALES, roles

routes = ApiRoutes()

EventKind = Literal[EVENT_KINDS]  # type: ignore[valid-type]
VerdictName = Literal[VERDICTS]  # type: ignore[valid-type]


class EventOut(OutModel):
    id: int
    kind: str
    occurred_at: UtcDateTime
    contact_id: int | None
    outbound_email_id: int | None
    url: str | None
    title: str | None
    label: str | None
    ip: str | None
    user_agent: str | None
    method: str
    verdict: str = Field(description="human, privacy_proxy, scanner or duplicate; only human counts")
    reason: str
    company_name: str | None
    high_value: bool


class EventPage(PageOut[EventOut]):
    pass


class EventQuery(QueryModel):
    contact_id: Id | None = None
    kind: EventKind | None = None
    verdict: VerdictName | None = None
    days: int | None = Field(None, ge=1, le=3650, description="only the last N days")


@routes.get("/tracking/events")
@roles(*SALES)
@endpoint("List tracking events, newest first", query=EventQuery, response=EventPage,
          description="Opens, clicks, page views and form captures with their verdict and reason. "
                      "Machine events are included; filter with `verdict=human` for what counts.")
def list_tracking_events(query: EventQuery):
    since = utcnow() - timedelta(days=query.days) if query.days else None
    page = queries.list_events(contact_id=query.contact_id, kind=query.kind, verdict=query.verdict,
                               since=since, **page_args(query))
    return page_out(EventPage, page, EventOut.model_validate)


class IngestIn(StrictModel):
    """Page views of one visitor, sent server-side (the snippet posts the same shape to
    ``/t/collect``). Each event: ``{"type": "page_view", "url", "title"?, "referrer"?}``."""

    visitor: Text(64, min_length=16) = Field(description="16-64 letters, digits, - or _",
                                             pattern=website.VISITOR_RE.pattern)
    pc: Text(200) | None = Field(None, description="the signed `_pc` value a tracked email link carried")
    ip: Text(45) | None = Field(None, description="the visitor's address, for company attribution and verdicts")
    user_agent: Text(512) | None = None
    events: list[dict[str, Any]] = Field(min_length=1, max_length=website.MAX_BATCH)


class ItemResult(OutModel):
    index: int
    status: int = Field(description="201 stored, 400 rejected")
    error: str | None = None


class IngestOut(OutModel):
    accepted: int
    rejected: int
    results: list[ItemResult]


@routes.post("/tracking/events")
@roles("admin")
@endpoint("Ingest page views", body=IngestIn, response=IngestOut,
          description="Good events are stored and bad ones rejected one by one (`results[i].status` "
                      "400 with the reason). When no event is good the answer is 422 with each "
                      "reason in `fields`.")
def ingest_tracking_events(body: IngestIn):
    data = {"visitor": body.visitor, "pc": body.pc, "events": body.events}
    facts = RequestFacts(ip=body.ip, user_agent=body.user_agent or "api", method="POST")
    result = website.collect(data, origin=None, request=facts, now=utcnow())
    if not result.accepted:  # the API's error handler rolls the session back
        raise ValidationFailed(_("no event was valid"), {
            f"events.{r['index']}": r["error"] for r in result.results})
    db.session.commit()
    if current_app.config.get("TRACKING_PROCESS_INLINE"):
        process_all()
    return IngestOut.model_validate(result.as_json())


class CompaniesQuery(QueryModel):
    days: int = Field(7, ge=1, le=90)


class CompanyVisitOut(OutModel):
    company_name: str
    domain: str | None
    views: int
    visitors: int
    last_seen_at: UtcDateTime
    pages: list[tuple[str, int]]


class CompaniesOut(OutModel):
    items: list[CompanyVisitOut]


@routes.get("/tracking/companies-visiting")
@roles(*SALES)
@endpoint("Companies on the website", query=CompaniesQuery, response=CompaniesOut,
          description="Companies (by imported IP ranges) whose people read the site in the last "
                      "`days` days, human page views only, with the pages read.")
def companies_visiting(query: CompaniesQuery):
    visits = queries.companies_visiting(utcnow(), days=query.days)
    return CompaniesOut(items=[CompanyVisitOut.model_validate(v) for v in visits])


class RecomputeOut(OutModel):
    examined: int
    changed: int


class RecomputeJobOut(OutModel):
    id: int
    url: str = Field(description="poll it (GET) for progress and, once done, the result")
    status: Literal["queued", "running", "done", "failed"]
    total: int = Field(description="emails, visitors and lone events to replay (counted when the worker starts)")
    done: int = Field(description="replayed so far")
    error: str | None = Field(description="why the job failed, when it did")
    created_at: UtcDateTime
    finished_at: UtcDateTime | None
    result: RecomputeOut | None = Field(description="events examined and changed so far (final once done)")


def _recompute_job_out(job) -> RecomputeJobOut:
    result = job.result or {}
    return RecomputeJobOut(
        id=job.id, url=url_for("api.get_recompute_verdicts_job", job_id=job.id), status=job.status,
        total=job.total, done=job.done, error=job.error, created_at=job.created_at, finished_at=job.finished_at,
        result=RecomputeOut(examined=result["examined"], changed=result["changed"]) if result else None)


@routes.post("/tracking/recompute-verdicts")
@roles("admin")
@endpoint("Recompute every verdict", response=RecomputeJobOut, status=202,
          description="Re-judge every stored event with the current rules. The worker does it (it "
                      "replays every event ever stored): the answer is 202 at once with the job "
                      "(its `url` also in `Location`) to poll for progress and the counts. While one "
                      "is queued or running, asking again answers with that job.")
def recompute_tracking_verdicts():
    job, _new = background.queue_recompute(api_user(), utcnow())
    db.session.commit()
    answer = _recompute_job_out(job)
    response = jsonify(answer.model_dump(mode="json"))
    response.status_code, response.headers["Location"] = 202, answer.url
    return response


@routes.get("/tracking/recompute-verdicts/jobs/<int:job_id>")
@roles("admin")
@endpoint("A verdict recompute running in the background", response=RecomputeJobOut,
          description="Progress (`done` of `total`) and, once done, how many events changed verdict.")
def get_recompute_verdicts_job(job_id: int):
    return _recompute_job_out(get_job_for(api_user(), job_id, kind=background.KIND))
