"""Worker jobs of the sequences feature: run due steps every 10 seconds, and resume
enrollments whose pause (an out-of-office's return date, a holiday) is over."""
from __future__ import annotations

from crm.scheduler import IntervalTrigger, Job
from crm.sequences.enrollments import resume_due_pauses
from crm.sequences.runner import run_due_steps

JOBS: list = [
    Job("sequences-run-due-steps", run_due_steps, IntervalTrigger(seconds=10)),
    Job("sequences-resume-pauses", resume_due_pauses, IntervalTrigger(minutes=5)),
]
