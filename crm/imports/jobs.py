"""The worker side of uploads: claim a queued import job in the database, run it, record the
outcome. ``run_queued_imports(now)`` is the periodic job (``crm/scheduler.py``).

Claiming: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED``; elsewhere a conditional UPDATE
that must change exactly one row. A job left ``running`` by a worker that died (heartbeat older
than ``IMPORT_STALE_MINUTES``) is claimed again and resumes after its last committed batch.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import select

from crm.errors import ServiceError
from crm.extensions import db
from crm.imports.models import ImportJob
from crm.imports.reader import ImportAborted
from crm.imports.services import (
    ImportOptions,
    JobSink,
    import_file,
    stored_file,
    tally_of,
    upload_dir,
)
from crm.jobs.claims import claim_oldest, clock_from
from crm.policy import SALES_ROLES
from crm.scheduler import IntervalTrigger, Job

log = logging.getLogger(__name__)

DEFAULT_STALE_MINUTES = 10
UPLOAD_MAX_AGE = timedelta(days=1)


def _stale_after() -> timedelta:
    return timedelta(minutes=current_app.config.get("IMPORT_STALE_MINUTES", DEFAULT_STALE_MINUTES))


def claim_next_job(now: datetime) -> ImportJob | None:
    """Mark the oldest claimable job running and return it (the caller commits at once).
    Two callers never get the same job."""
    return claim_oldest(ImportJob, now, _stale_after())


def run_import_job(job: ImportJob, now: datetime, clock: Callable[[], datetime] | None = None) -> str:
    """Run (or resume) a claimed job to its end; returns its final status."""
    clock = clock or clock_from(now)
    job_id = job.id
    try:
        actor = job.user
        if actor is None or not actor.is_active or actor.role not in SALES_ROLES:
            raise ImportAborted("the user who uploaded this file can no longer import")
        options = ImportOptions(on_duplicate=job.on_duplicate, encoding=job.encoding,
                                stored_mapping=job.mapping)
        import_file(stored_file(job.stored_path), job.kind, actor=actor, now=now, options=options,
                    sink=JobSink(job, clock), tally=tally_of(job), skip_rows=job.rows_seen)
        status, error = "done", None
    except (ImportAborted, ServiceError, OSError) as exc:
        status, error = "failed", getattr(exc, "message", None) or str(exc) or type(exc).__name__
    except Exception:
        log.exception("import job %s crashed", job_id)
        status, error = "failed", "the import stopped on an internal error; the rows counted above were imported"
    db.session.rollback()
    job = db.session.get(ImportJob, job_id)
    job.status, job.error, job.finished_at, job.heartbeat_at = status, error, clock(), clock()
    db.session.commit()
    _remove_file(job.stored_path)
    log.info("import job %s %s: %s rows, %s created, %s rejected", job_id, status, job.rows_seen,
             job.created_count, job.rejected_count)
    return status


def run_queued_imports(now: datetime, clock: Callable[[], datetime] | None = None) -> int:
    """The periodic job: run every claimable import; returns how many ran."""
    clock = clock or clock_from(now)
    ran = 0
    while (job := claim_next_job(now)) is not None:
        db.session.commit()  # the claim is visible to other workers before the long work
        run_import_job(job, now, clock)
        ran += 1
    purge_stale_uploads(now)
    db.session.commit()
    return ran


def purge_stale_uploads(now: datetime) -> int:
    """Delete uploads nobody queued (mapping page abandoned) after a day."""
    in_use = set(db.session.scalars(
        select(ImportJob.stored_path).where(ImportJob.status.in_(("queued", "running")))
    ))
    removed = 0
    for path in upload_dir().glob("*.csv"):
        age = now.timestamp() - path.stat().st_mtime
        if path.name not in in_use and age > UPLOAD_MAX_AGE.total_seconds():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _remove_file(name: str) -> None:
    try:
        stored_file(name).unlink(missing_ok=True)
    except (ServiceError, OSError):
        log.warning("could not remove upload %s", name)


# The worker's table (crm/features.py): queued uploads are picked up within seconds.
JOBS = [Job("run-queued-imports", run_queued_imports, IntervalTrigger(seconds=5))]
