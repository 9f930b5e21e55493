"""Worker jobs of the tracking feature."""
from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger

from crm.scheduler import Job


def _process_inbox(now):
    """Queued opens, clicks and page views become events (verdicts, timeline, scores, alerts)."""
    from crm.tracking.inbox import process_all

    return process_all()


JOBS: list = [Job("tracking-process-inbox", _process_inbox, IntervalTrigger(seconds=2))]
