"""Enrolling many contacts at once: small batches now, large ones in the worker.

Enrolling ~930 contacts took 5-7 s on a quiet server and timed out under load (issue #19).
Up to ``SEQUENCE_BULK_SYNC_MAX`` contacts (default 100) the request enrolls them itself, as
before; more are a background job (``crm.jobs``): the request checks what it can check at
once (the sequence exists and has steps, the actor may enroll), queues a job row with who
asked, the sequence, and the contact ids or the filter, and answers with the job's URL (202
in the API, a redirect to the status page on pages). The worker enrolls in chunks of
``SEQUENCE_BULK_CHUNK`` (default 50), committing each chunk together with the job's progress
(done of total, refusals so far, the enrolled ids and each refusal with its reason); a second
claim after a crash resumes after the last committed chunk, so nobody is enrolled twice and
nobody is skipped.

Services validate, flush and leave the commit to the caller, as everywhere; the worker's
chunk commits are the job runner's checkpoints.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from crm.auth.models import User
from crm.contacts.services import search_contacts
from crm.errors import ValidationFailed
from crm.i18n import _
from crm.jobs.models import BackgroundJob
from crm.jobs.runner import JobFailed, JobKind, JobRun, enqueue
from crm.policy import require_sales
from crm.sequences import enrollments
from crm.sequences.runner import ordered_steps
from crm.validation import as_id
from crm.web.access import SALES

KIND = "sequences.bulk_enroll"
SYNC_MAX = 100
CHUNK = 50


def sync_max() -> int:
    return int(current_app.config.get("SEQUENCE_BULK_SYNC_MAX", SYNC_MAX))


def chunk_size() -> int:
    return max(1, int(current_app.config.get("SEQUENCE_BULK_CHUNK", CHUNK)))


@dataclass
class BulkOutcome:
    """Either the report of a batch enrolled now, or the job that will enroll it."""

    report: enrollments.EnrollReport | None = None
    job: BackgroundJob | None = None


def _clean_ids(contact_ids) -> list[int]:
    return [i for i in dict.fromkeys(as_id(c) for c in contact_ids) if i is not None][:enrollments.BULK_LIMIT]


def matching_count(filters: dict) -> int:
    """How many contacts the filter matches (one count query), at most ``BULK_LIMIT``."""
    return min(search_contacts(**filters, per_page=1).total, enrollments.BULK_LIMIT)


def enroll_in_bulk(actor: User, sequence_id, now: datetime, *, contact_ids=None,
                   filters: dict | None = None) -> BulkOutcome:
    """Enroll ``contact_ids`` (or the contacts ``filters`` match: the contacts list's search)
    in the sequence: now when they are few, else queue a job. Flushes, never commits."""
    require_sales(actor)
    sequence = enrollments.get_sequence(sequence_id)
    if not ordered_steps(sequence.id):
        raise ValidationFailed(_("this sequence has no steps"), {"sequence_id": _("add a step first")})
    if contact_ids is not None:
        ids = _clean_ids(contact_ids)
        if len(ids) <= sync_max():
            return BulkOutcome(report=enrollments.enroll_contacts(actor, sequence.id, ids, now))
        params, total = {"sequence_id": sequence.id, "contact_ids": ids}, len(ids)
    else:
        filters = dict(filters or {})
        total = matching_count(filters)
        if total <= sync_max():
            return BulkOutcome(report=enrollments.enroll_filtered(actor, sequence.id, filters, now))
        params = {"sequence_id": sequence.id, "filter": filters}
    return BulkOutcome(job=enqueue(KIND, actor, params, now, total=total))


def run_bulk_enroll(run: JobRun) -> None:
    """The worker's side: enroll the job's contacts chunk by chunk, resuming after ``done``."""
    job = run.job
    actor = job.user
    if actor is None or not actor.is_active or actor.role not in SALES:
        raise JobFailed(_("the user who asked can no longer enroll contacts"))
    params = dict(job.params)
    ids = params.get("contact_ids")
    if ids is None:  # a filter: which contacts, decided once and kept for a resumed run
        ids = enrollments.filtered_contact_ids(params.get("filter") or {})
        params["contact_ids"] = ids
        run.checkpoint(params=params, total=len(ids))
        job = run.job
    result = {"enrolled": list(job.result.get("enrolled", [])), "refused": list(job.result.get("refused", []))}
    done, size = job.done, chunk_size()
    while done < len(ids):
        run.begin_chunk()
        chunk = ids[done:done + size]
        report = enrollments.enroll_contacts(actor, params["sequence_id"], chunk, run.now())
        result["enrolled"] += report.enrolled
        result["refused"] += report.refused
        done += len(chunk)
        run.checkpoint(done=done, error_count=len(result["refused"]), result=result)


JOB_KIND = JobKind(name=KIND, run=run_bulk_enroll, title="Enrolling contacts in a sequence",
                      result_template="sequences/_bulk_report.html", back_endpoint="sequences.enroll_bulk")
