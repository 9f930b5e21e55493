"""Call tasks from sequences, as the call queue sees them. CONTRACT (called by calls)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DueCallTask:
    task_id: int
    contact_id: int
    enrollment_id: int
    sequence_name: str
    step_position: int  # 1-based
    due_at: datetime


def due_call_tasks(user_id: int, until: datetime) -> list[DueCallTask]:
    """Open call tasks of ``user_id``'s enrollments due at or before ``until``, oldest first."""
    return []


def complete_call_task(task_id: int, actor, now: datetime, outcome: str) -> bool:
    """Mark the call task done with the call's outcome and advance its enrollment. Returns
    False when the task was already done (a second tab logging the same call). Flushes."""
    return False
