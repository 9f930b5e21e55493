"""Worker jobs of the tracking feature (``JOBS``, in the worker's table through the manifest)."""
from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger

from crm.scheduler import Job
from crm.tracking.inbox import process_all


def _process_inbox(now):
    """Queued opens, clicks and page views become events (verdicts, timeline, scores, alerts)."""
    return process_all()


JOBS: list = [Job("tracking-process-inbox", _process_inbox, IntervalTrigger(seconds=2))]
