"""The one table of periodic jobs, built from the manifest (``crm/features.py``) and run by
``flask --app wsgi crm worker`` (or in-process in development). APScheduler job stores are never
shared between schedulers, so exactly one scheduler runs per deployment and every job is safe
to run twice: jobs claim their rows in the database before acting."""
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
from crm.features import load_all
from crm.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable  # func(now) -> anything; runs inside an app context, committed after
    trigger: object


def job_table() -> list[Job]:
    """Every feature's periodic jobs, in manifest order (``crm/features.py``): the worker's one
    table. A job id names one job across the whole product; a repeated id is a wiring mistake."""
    jobs = [job for table in load_all("jobs") for job in table]
    ids = [job.id for job in jobs]
    duplicated = sorted({job_id for job_id in ids if ids.count(job_id) > 1})
    if duplicated:
        raise RuntimeError(f"job ids declared twice in the manifest: {duplicated}")
    return jobs


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


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, the app, SQLAlchemy's mappings and
    compiled caches) out of the garbage collector's sight (``gc.freeze``). The jobs allocate
    many short-lived objects (ORM rows by the thousand), and each full collection otherwise
    walks every start-up object again: it was a fifth of the send tick's time."""
    gc.collect()
    gc.freeze()


def build_scheduler(app: Flask, *, blocking: bool):
    scheduler = BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    for job in job_table():
        scheduler.add_job(
            run_job, job.trigger, args=(app, job), id=job.id, coalesce=True,
            max_instances=1, misfire_grace_time=300, replace_existing=True,
        )
    return scheduler


__all__ = ["Job", "job_table", "IntervalTrigger", "CronTrigger", "build_scheduler", "run_job"]
