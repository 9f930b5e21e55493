"""The S&OP cycle's periodic work: ``JOBS`` (named by the manifest, "sop"; run by ``crm worker``)."""
from __future__ import annotations

from datetime import datetime

from planning_bridge.crm_port import CronTrigger, Job
from planning_bridge.sop import services

MONTH_END_CYCLE = "sop-month-end-cycle"


def open_month_end_cycle(now: datetime) -> str | None:
    """Open the cycle of the month just ended and gather its data (idempotent): its month, or
    None when it was open already."""
    cycle = services.open_month_end_cycle(now)
    return cycle.month if cycle else None


JOBS: list[Job] = [
    # After the month-end snapshots (02:30): the cycle's own snapshot and accuracy follow them.
    Job(MONTH_END_CYCLE, open_month_end_cycle, CronTrigger(day=1, hour=3, minute=0)),
]
