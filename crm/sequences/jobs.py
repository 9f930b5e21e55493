"""Worker jobs of the sequences feature: run due steps every 10 seconds, and resume
enrollments whose pause (an out-of-office's return date, a holiday) is over."""
from __future__ import annotations

from crm.scheduler import IntervalTrigger, Job


def _run_due_steps(now):
    from crm.sequences.engine import run_due_steps

    return run_due_steps(now)


def _resume_due_pauses(now):
    from crm.sequences.services import resume_due_pauses

    return resume_due_pauses(now)


JOBS: list = [
    Job("sequences-run-due-steps", _run_due_steps, IntervalTrigger(seconds=10)),
    Job("sequences-resume-pauses", _resume_due_pauses, IntervalTrigger(minutes=5)),
]
