"""Background jobs a request queues and the worker runs (issue #19: a request must never hold
a web worker for long work).

One table, ``background_jobs`` (``models.py``): who asked, what kind of work with which
parameters, when, and the progress the worker commits as it goes (done of total, errors, a
result). A feature declares a kind of job once (``runner.register_kind``: the function that
does the work, a title, the template showing its result); a request then queues a row with
``runner.enqueue`` and answers at once (202 with the job's URL in the API, a redirect to its
status page on pages). The worker claims queued rows in the database (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, a conditional UPDATE elsewhere; the scheduler's
``run-background-jobs``), as imports are claimed (``crm/imports/jobs.py``); a job whose worker
died is claimed again after ``BACKGROUND_JOB_STALE_MINUTES`` and resumes after its last
committed checkpoint.

Kinds today: bulk enrollment of many contacts (``crm/sequences/bulk.py``), recomputing every
score and training the scoring model (``crm/scoring/background.py``).
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from crm.jobs import models  # noqa: F401  (the table on the metadata)
    from crm.jobs.views import bp

    app.register_blueprint(bp)
