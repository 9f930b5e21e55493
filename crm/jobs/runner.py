"""Queueing, claiming and running background jobs (see ``crm/jobs/__init__.py``).

Requests call ``enqueue`` (flushes, never commits) and read jobs through ``get_job_for``
(only the one who asked, their manager, or an admin sees a job). The worker's periodic
``run_queued_jobs(now)`` claims and runs every claimable job.

Claiming: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED``; elsewhere a conditional UPDATE
that must change exactly one row (as ``crm/imports/jobs.py``). Every claim increments
``attempts``; a kind's code starts each chunk of work with ``JobRun.begin_chunk`` and ends it
with ``JobRun.checkpoint``, which write the job row only ``WHERE attempts`` is still their own
and commit the progress together with the work of the chunk. So a job left ``running`` by a
worker that died (heartbeat older than ``BACKGROUND_JOB_STALE_MINUTES``) is claimed again and
resumes after its last checkpoint, and should the first worker wake up after all, its next
checkpoint finds its claim gone and rolls its chunk back instead of doing it twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app
from sqlalchemy import select, update

from crm.auth.models import User
from crm.errors import NotFound, ServiceError
from crm.extensions import db
from crm.i18n import _
from crm.jobs.claims import claim_oldest, clock_from
from crm.jobs.models import OPEN_STATUSES, BackgroundJob
from crm.scheduler import IntervalTrigger, Job
from crm.validation import as_id

log = logging.getLogger(__name__)

DEFAULT_STALE_MINUTES = 10


class ClaimLost(Exception):
    """Another worker claimed this job since (this one was taken for dead): stop, write nothing."""


class JobFailed(ServiceError):
    """A kind's code stops its job with this message for the page (the job is ``failed``)."""


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable[["JobRun"], None]
    title: str
    result_template: str | None = None   # included on the status page once the job is done
    back_endpoint: str | None = None     # where the status page links back to


KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> None:
    KINDS[kind.name] = kind


# --- requests --------------------------------------------------------------------------------

def enqueue(kind: str, actor: User, params: dict[str, Any], now: datetime, total: int = 0) -> BackgroundJob:
    """Queue a job of ``kind`` for ``actor``; the worker picks it up within seconds. Flushes."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = BackgroundJob(kind=kind, user_id=actor.id, params=params, status="queued", total=total,
                        done=0, error_count=0, result={}, attempts=0, created_at=now)
    db.session.add(job)
    db.session.flush()
    return job


def open_job(kind: str) -> BackgroundJob | None:
    """The queued or running job of ``kind``, if any (for work that should not pile up)."""
    return db.session.scalar(select(BackgroundJob).where(
        BackgroundJob.kind == kind, BackgroundJob.status.in_(OPEN_STATUSES)).order_by(BackgroundJob.id).limit(1))


def can_see(actor: User, job: BackgroundJob) -> bool:
    """The one who asked, their manager, or an admin."""
    if actor.role == "admin" or job.user_id == actor.id:
        return True
    return actor.role == "manager" and job.user is not None and job.user.manager_id == actor.id


def get_job_for(actor: User, job_id, kind: str | None = None) -> BackgroundJob:
    """A job ``actor`` may see (404 otherwise: whether it exists is not theirs to know)."""
    job = db.session.get(BackgroundJob, as_id(job_id)) if as_id(job_id) else None
    if job is None or (kind is not None and job.kind != kind) or not can_see(actor, job):
        raise NotFound(_("no such job"))
    return job


def recent_jobs(actor: User, kind: str, limit: int = 5) -> list[BackgroundJob]:
    return list(db.session.scalars(select(BackgroundJob).where(
        BackgroundJob.user_id == actor.id, BackgroundJob.kind == kind)
        .order_by(BackgroundJob.created_at.desc(), BackgroundJob.id.desc()).limit(limit)))


# --- the worker ------------------------------------------------------------------------------

def _stale_after() -> timedelta:
    return timedelta(minutes=current_app.config.get("BACKGROUND_JOB_STALE_MINUTES", DEFAULT_STALE_MINUTES))


def claim_next_job(now: datetime) -> BackgroundJob | None:
    """Mark the oldest claimable job running, one more attempt, and return it (the caller
    commits at once). Two workers never get the same claim."""
    return claim_oldest(BackgroundJob, now, _stale_after())


class JobRun:
    """A claimed job as its kind's code sees it: the job row, the moment, and checkpoints."""

    def __init__(self, job: BackgroundJob, clock: Callable[[], datetime]):
        self.job_id, self.attempt, self.clock = job.id, job.attempts, clock

    @property
    def job(self) -> BackgroundJob:
        return db.session.get(BackgroundJob, self.job_id)

    def now(self) -> datetime:
        return self.clock()

    def begin_chunk(self) -> None:
        """Start a chunk of work: touch the heartbeat, only while the claim is still this
        run's (``ClaimLost`` otherwise), without committing. First in the chunk's transaction:
        on PostgreSQL it holds the job row's lock until the checkpoint, so no second claim
        happens mid-chunk; on SQLite it opens the write transaction before the chunk's
        savepoints (pysqlite begins none for a SAVEPOINT, and its RELEASE would commit)."""
        self._write({})

    def checkpoint(self, **values: Any) -> None:
        """Write progress (``done``, ``total``, ``error_count``, ``result``, ``params``) with
        the work done since the last checkpoint, and commit both, or neither when another
        worker has claimed the job since (``ClaimLost``)."""
        self._write(values)
        db.session.commit()

    def _write(self, values: dict[str, Any]) -> None:
        changed = db.session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == self.job_id, BackgroundJob.attempts == self.attempt,
                   BackgroundJob.status == "running")
            .values(heartbeat_at=self.clock(), **values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            # The worker's unit of work: this run's uncommitted chunk must not reach the job
            # another worker now owns (a job, not a request: no request-scoped helper applies).
            db.session.rollback()
            raise ClaimLost(f"job {self.job_id} was claimed again")


def run_job(job: BackgroundJob, clock: Callable[[], datetime]) -> str:
    """Run (or resume) a claimed job to its end; returns its final status ("lost" when
    another worker took it over meanwhile)."""
    run = JobRun(job, clock)
    kind = KINDS.get(job.kind)
    try:
        if kind is None:
            raise JobFailed(_("unknown kind of job %(kind)s", kind=f'{job.kind!r}'))
        kind.run(run)
        status, error = "done", None
    except ClaimLost:
        db.session.rollback()  # the unit of work of a job someone else now runs: drop it
        log.warning("job %s: claimed again by another worker; this one stops", run.job_id)
        return "lost"
    except ServiceError as exc:
        status, error = "failed", exc.message
    except Exception:
        log.exception("job %s (%s) crashed", run.job_id, job.kind)
        status, error = "failed", "stopped on an internal error; the progress shown was saved"
    # End the last chunk's unit of work (committed checkpoints stay) before the final status.
    db.session.rollback()
    finished = db.session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == run.job_id, BackgroundJob.attempts == run.attempt)
        .values(status=status, error=error, finished_at=clock(), heartbeat_at=clock())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    log.info("job %s (%s) %s", run.job_id, kind.name if kind else "?", status if finished else "lost")
    return status if finished else "lost"


def run_queued_jobs(now: datetime, clock: Callable[[], datetime] | None = None) -> int:
    """The periodic job: run every claimable job; returns how many ran."""
    clock = clock or clock_from(now)
    ran = 0
    while (job := claim_next_job(clock())) is not None:
        db.session.commit()  # the claim is visible to other workers before the long work
        run_job(job, clock)
        ran += 1
    return ran


# The worker's table (crm/features.py): the work requests queue is picked up within seconds.
JOBS = [Job("run-background-jobs", run_queued_jobs, IntervalTrigger(seconds=2))]
