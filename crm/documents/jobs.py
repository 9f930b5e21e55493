"""Worker jobs of the documents feature: render uploaded PDFs and prepare videos, a few seconds
after the upload."""
from __future__ import annotations

from crm.documents.worker import process_pending
from crm.scheduler import IntervalTrigger, Job

# A tick works for at most this long, so a long queue does not hold the scheduler's thread.
TICK_BUDGET_SECONDS = 120


def process_documents(now):
    counts = process_pending(now, budget_seconds=TICK_BUDGET_SECONDS)
    return counts if any(counts.values()) else None


JOBS = [Job("documents-process", process_documents, IntervalTrigger(seconds=10))]
