"""Background jobs a request queues and the worker runs (issue #19: a request must never hold
a web worker for long work). Infrastructure shared by features, not a feature: it owns the
``background_jobs`` table, the runner and the job status pages (``views.py``), and offers
``runner.JobKind``, ``enqueue``, ``open_job``, ``get_job_for`` and ``recent_jobs`` to the
features that queue work (sequences, scoring, tracking).

One table, ``background_jobs`` (``models.py``): who asked, what kind of work with which
parameters, when, and the progress the worker commits as it goes (done of total, errors, a
result). A feature declares a kind of job once (a ``runner.JobKind``: the function that does the
work, a title, the template showing its result) and names it in its manifest entry
(``job_kinds`` in ``crm/features.py``); a request then queues a row with
``runner.enqueue`` and answers at once (202 with the job's URL in the API, a redirect to its
status page on pages). The worker claims queued rows in the database (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, a conditional UPDATE elsewhere; the scheduler's
``run-background-jobs``), as imports are claimed (``crm/imports/jobs.py``); a job whose worker
died is claimed again after ``BACKGROUND_JOB_STALE_MINUTES`` and resumes after its last
committed checkpoint.

Kinds today: bulk enrollment of many contacts (``crm/sequences/bulk.py``), recomputing every
score and training the scoring model (``crm/scoring/background.py``), recomputing every
tracking verdict (``crm/tracking/background.py``).

Known duplication: claiming a queued row (``runner.claim_next_job``'s SKIP LOCKED / conditional
UPDATE, stale-heartbeat reclaim, the monotonic clock ``_clock_from``) is written a second time
in ``crm/imports/jobs.py`` for the import jobs' own table.
"""
