"""The one table of periodic jobs, run by ``flask --app wsgi crm worker`` (or in-process in
development). APScheduler job stores are never shared between schedulers, so exactly one
scheduler runs per deployment and every job is safe to run twice: jobs claim their rows in the
database before acting."""
from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from crm.extensions import db
from crm.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable  # func(now) -> anything; runs inside an app context, committed after
    trigger: object


def _purge_sessions(now):
    from crm.auth.services import purge_expired_sessions

    return purge_expired_sessions(now)


def _run_queued_imports(now):
    from crm.imports.jobs import run_queued_imports

    return run_queued_imports(now)


def _run_background_jobs(now):
    from crm.jobs.runner import run_queued_jobs

    return run_queued_jobs(now)


JOBS: list[Job] = [
    Job("purge-expired-sessions", _purge_sessions, CronTrigger(hour=3, minute=17)),
    Job("run-queued-imports", _run_queued_imports, IntervalTrigger(seconds=5)),
    # Work requests queue instead of doing it themselves (crm/jobs): bulk enrollment, scoring.
    Job("run-background-jobs", _run_background_jobs, IntervalTrigger(seconds=2)),
]


def _feature_jobs() -> list[Job]:
    from crm.features import feature_modules

    return [job for module in feature_modules("jobs") for job in module.JOBS]


def register_job(job: Job) -> None:
    """Features (and the planning bridge) add their jobs here from their ``init_app``."""
    if any(existing.id == job.id for existing in JOBS):
        return
    JOBS.append(job)


def run_job(app: Flask, job: Job) -> None:
    with app.app_context():
        try:
            result = job.func(utcnow())
            db.session.commit()
            if result:
                log.info("job %s: %s", job.id, result)
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", job.id)


def all_jobs() -> list[Job]:
    return JOBS + [job for job in _feature_jobs() if all(job.id != j.id for j in JOBS)]


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, the app, SQLAlchemy's mappings and
    compiled caches) out of the garbage collector's sight (``gc.freeze``). The jobs allocate
    many short-lived objects (ORM rows by the thousand), and each full collection otherwise
    walks every start-up object again: it was a fifth of the send tick's time."""
    gc.collect()
    gc.freeze()


def build_scheduler(app: Flask, *, blocking: bool):
    scheduler = BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    for job in all_jobs():
        scheduler.add_job(
            run_job, job.trigger, args=(app, job), id=job.id, coalesce=True,
            max_instances=1, misfire_grace_time=300, replace_existing=True,
        )
    return scheduler


__all__ = ["JOBS", "Job", "all_jobs", "IntervalTrigger", "CronTrigger", "build_scheduler", "register_job", "run_job"]
