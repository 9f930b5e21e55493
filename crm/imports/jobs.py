"""The worker side of uploads: claim a queued import job in the database, run it, record the
outcome. ``run_queued_imports(now)`` is the periodic job (``crm/scheduler.py``).

Claiming: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED``; elsewhere a conditional UPDATE
that must change exactly one row. Each claim gives the job a new token. While a job runs, a
heartbeat thread stamps ``heartbeat_at`` every few seconds (and each committed batch does too);
a job left ``running`` by a worker that died (no heartbeat for ``IMPORT_STALE_MINUTES``, 0.75 by
default, so with the worker's 5-second poll it resumes within a minute) is claimed again and
resumes after its last committed batch. A worker that was only slow and finds its token gone
rolls its batch back and stops (``ClaimLost``): no row is imported twice.
"""
from __future__ import annotations

import logging
import secrets
import threading
from datetime import datetime, timedelta
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import _, force_language
from crm.imports.models import ImportJob
from crm.imports.reader import ImportAborted
from crm.imports.services import (
    ClaimLost,
    JobSink,
    import_file,
    job_options,
    stored_file,
    tally_of,
    upload_dir,
)
from crm.jobs.claims import claim_oldest, clock_from
from crm.policy import SALES_ROLES
from crm.scheduler import IntervalTrigger, Job

log = logging.getLogger(__name__)

DEFAULT_STALE_MINUTES = 0.75
UPLOAD_MAX_AGE = timedelta(days=1)
HEARTBEAT_MIN_SECONDS, HEARTBEAT_MAX_SECONDS = 0.5, 15.0


def stale_after() -> timedelta:
    return timedelta(minutes=float(current_app.config.get("IMPORT_STALE_MINUTES", DEFAULT_STALE_MINUTES)))


def heartbeat_interval(stale: timedelta) -> float:
    """A quarter of the stale delay: three beats can be missed before the job is taken over."""
    return min(HEARTBEAT_MAX_SECONDS, max(HEARTBEAT_MIN_SECONDS, stale.total_seconds() / 4))


def claim_next_job(now: datetime) -> ImportJob | None:
    """Mark the oldest claimable job running, with a new claim token, and return it (the
    caller commits at once). Two callers never get the same job."""
    job = claim_oldest(ImportJob, now, stale_after())
    if job is not None:
        job.claim_token = secrets.token_hex(16)
        db.session.flush()
    return job


class Heartbeat:
    """Stamps the claimed job's ``heartbeat_at`` from a thread of its own, on its own
    connection, while the import runs: a batch that takes long (a slow database, deals written
    one by one) does not make the job look dead. Stops by itself if the claim was lost."""

    def __init__(self, app: Flask, job_id: int, token: str | None, clock: Callable[[], datetime],
                 interval: float):
        self.app, self.job_id, self.token, self.clock, self.interval = app, job_id, token, clock, interval
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"import-{job_id}-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        if self.token is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        with self.app.app_context():
            while not self._stop.wait(self.interval):
                if not self.beat():
                    return

    def beat(self) -> bool:
        """One stamp; False when the job is no longer this worker's."""
        try:
            with db.engine.begin() as connection:
                moved = connection.execute(
                    update(ImportJob.__table__)
                    .where(ImportJob.id == self.job_id, ImportJob.claim_token == self.token,
                           ImportJob.status == "running")
                    .values(heartbeat_at=self.clock())
                ).rowcount
        except SQLAlchemyError as exc:  # e.g. SQLite busy while a batch writes: next beat
            log.debug("import job %s heartbeat skipped: %s", self.job_id, exc)
            return True
        if moved != 1:
            self.lost = True
            log.warning("import job %s: claim lost, heartbeat stopped", self.job_id)
        return moved == 1


def run_import_job(job: ImportJob, now: datetime, clock: Callable[[], datetime] | None = None) -> str:
    """Run (or resume) a claimed job to its end; returns its final status ("lost" when
    another worker took it over: then this one writes nothing more)."""
    clock = clock or clock_from(now)
    job_id, token = job.id, job.claim_token
    app = current_app._get_current_object()
    # Rejection reasons, notes and the failure message are stored as written, in the language
    # of the user who uploaded the file (they are the one who reads them).
    with force_language(getattr(job.user, "language", None)):
        return _run_import_job(job, now, clock, app, job_id, token)


def _run_import_job(job: ImportJob, now: datetime, clock: Callable[[], datetime], app, job_id: int,
                    token) -> str:
    try:
        actor = job.user
        if actor is None or not actor.is_active or actor.role not in SALES_ROLES:
            raise ImportAborted(_("the user who uploaded this file can no longer import"))
        with Heartbeat(app, job_id, token, clock, heartbeat_interval(stale_after())):
            import_file(stored_file(job.stored_path), job.kind, actor=actor, now=now, options=job_options(job),
                        sink=JobSink(job, clock), tally=tally_of(job), skip_rows=job.rows_seen)
        status, error = "done", None
    except ClaimLost:
        db.session.rollback()
        log.warning("import job %s was taken over by another worker; this one stops", job_id)
        return "lost"
    except (ImportAborted, ServiceError, OSError) as exc:
        status, error = "failed", getattr(exc, "message", None) or str(exc) or type(exc).__name__
    except Exception:
        log.exception("import job %s crashed", job_id)
        status, error = "failed", _("the import stopped on an internal error; the rows counted above were imported")
    db.session.rollback()
    job = db.session.get(ImportJob, job_id)
    db.session.refresh(job)
    if job.claim_token != token:  # taken over while failing: the new owner decides
        return "lost"
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
