"""Worker jobs of the recordings feature: analyse what was uploaded, a few seconds after."""
from __future__ import annotations

from crm.recordings.worker import analyse_pending
from crm.scheduler import IntervalTrigger, Job

# A tick analyses for at most this long, so one long queue does not hold the scheduler's
# thread from the other jobs; the next tick carries on.
TICK_BUDGET_SECONDS = 120


def analyse_recordings(now):
    counts = analyse_pending(now, budget_seconds=TICK_BUDGET_SECONDS)
    return counts if any(counts.values()) else None


JOBS = [Job("recordings-analyse", analyse_recordings, IntervalTrigger(seconds=10))]
