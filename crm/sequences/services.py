"""The sequences feature's public face: what other features (and the feature's own pages,
API, CLI and jobs) call. Re-exported from the submodules that implement it:

* enrollments (``enrollments.py``): enroll one contact or many (refusals per contact), stop,
  pause and resume one enrollment or all of a rep's, lists; ``stop_enrollments_for`` and
  ``pause_enrollments_for`` stop or pause every enrollment of a contact;
* the step runner (``runner.py``): ``run_due_steps`` (the worker's tick), ``end_enrollment``;
* call tasks (``tasks.py``), used by the calls feature: ``due_call_tasks`` and
  ``complete_call_task`` (``DueCallTask`` rows);
* ``connect_signals``: subscribes sequences to what other features announce
  (``crm/signals.py``): mail's news about the emails it sent and received, an unsubscribe, a
  booked meeting. The app factory calls it once per process, from the manifest.

Services take ``actor`` and ``now``, flush and never commit.
"""
from __future__ import annotations

from crm.sequences.enrollments import (
    BULK_LIMIT,
    DEFAULT_PAUSE_DAYS,
    PAUSE_REASONS,
    REFUSALS,
    EnrollReport,
    can_act_for,
    enroll_contact,
    enroll_contacts,
    enroll_filtered,
    filtered_contact_ids,
    get_enrollment,
    get_sequence,
    list_enrollments,
    live_enrollment_count,
    pause_all_for_user,
    pause_enrollment,
    pause_enrollments_for,
    pause_live_enrollment,
    refusal_for,
    require_act_on,
    resume_all_for_user,
    resume_due_pauses,
    resume_enrollment,
    resume_paused_enrollment,
    start_enrollment,
    stop_enrollment,
    stop_enrollments_for,
)
from crm.sequences.runner import STOP_REASONS, cancel_pending_mail, end_enrollment, run_due_steps
from crm.sequences.subscribers import connect as connect_signals
from crm.sequences.tasks import DueCallTask, complete_call_task, due_call_tasks

__all__ = [
    "BULK_LIMIT", "DEFAULT_PAUSE_DAYS", "PAUSE_REASONS", "REFUSALS", "STOP_REASONS", "DueCallTask", "EnrollReport",
    "can_act_for", "cancel_pending_mail", "complete_call_task", "connect_signals", "due_call_tasks", "end_enrollment",
    "enroll_contact", "enroll_contacts", "enroll_filtered", "filtered_contact_ids", "get_enrollment",
    "get_sequence", "list_enrollments", "live_enrollment_count", "pause_all_for_user", "pause_enrollment",
    "pause_enrollments_for", "pause_live_enrollment", "refusal_for", "require_act_on", "resume_all_for_user",
    "resume_due_pauses", "resume_enrollment", "resume_paused_enrollment", "run_due_steps", "start_enrollment",
    "stop_enrollment", "stop_enrollments_for",
]
