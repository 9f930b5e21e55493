"""The admin's "recompute every verdict" runs in the worker (``crm.jobs``): it replays every
tracking event ever stored, minutes on a real CRM, far past what a web request may spend
(issue #19). The page button and the API queue the job (or answer with the one already queued
or running: one at a time) and answer at once; the job's status page, and the API's job
resource, show the progress and the outcome.

The worker replays ``recompute.CHUNK`` emails, visitors or lone events per chunk and commits
each chunk with the job's progress and cursor (``params["cursor"]``), so a job taken over after
a dead worker resumes after the last committed chunk.
"""
from __future__ import annotations

from datetime import datetime

from crm.auth.models import User
from crm.jobs.models import BackgroundJob
from crm.jobs.runner import JobKind, JobRun, enqueue, open_job
from crm.policy import require_admin
from crm.tracking import recompute

KIND = "tracking.recompute_verdicts"


def queue_recompute(actor: User, now: datetime) -> tuple[BackgroundJob, bool]:
    """The recompute job ``actor`` (an admin) asks for: a new one, or the one already queued or
    running (a second recompute would redo the same work). Returns it and whether it is new.
    Flushes, never commits."""
    require_admin(actor)
    job = open_job(KIND)
    if job is not None:
        return job, False
    return enqueue(KIND, actor, {"cursor": dict(recompute.START)}, now), True


def run_recompute(run: JobRun) -> None:
    """The worker's side: chunk after chunk from the stored cursor to the end."""
    job = run.job
    params = dict(job.params or {})
    if "total" not in params:  # first claim: how much there is, counted once for the bar
        run.begin_chunk()
        params["total"] = recompute.count_units()
        run.checkpoint(params=params, total=params["total"])
    cursor = dict(params.get("cursor") or recompute.START)
    job = run.job
    done, total = job.done, job.total
    result = {"examined": int(job.result.get("examined", 0)), "changed": int(job.result.get("changed", 0))}
    while cursor["stage"] != "done":
        run.begin_chunk()
        chunk = recompute.recompute_chunk(cursor, recompute.CHUNK)
        cursor, done = chunk.cursor, done + chunk.units
        result = {"examined": result["examined"] + chunk.examined, "changed": result["changed"] + chunk.changed}
        # Events stored since the count make ``done`` pass ``total``: the bar stays truthful.
        total = max(total, done)
        run.checkpoint(params={**params, "cursor": cursor}, done=done, total=total, result=result)


JOB_KIND = JobKind(name=KIND, run=run_recompute, title="Recomputing every tracking verdict",
                      result_template="tracking/_recompute_result.html", back_endpoint="tracking.tracked_origins")
