"""The bridge's periodic work: ``JOBS``, joined into the worker's one job table by the manifest
(``crm/features.py``; run by ``crm worker``)."""
from __future__ import annotations

from datetime import datetime

from planning_bridge import services
from planning_bridge.crm_port import CronTrigger, Job

MONTH_END_SNAPSHOTS = "planning-month-end-snapshots"


def month_end_snapshots(now: datetime) -> list[int]:
    """Both probability sources' snapshots of the month just closed (idempotent): the ids taken."""
    return services.take_month_end_snapshots(now)


JOBS: list[Job] = [
    # Shortly after each month end, early enough to be there when the S&OP cycle starts.
    Job(MONTH_END_SNAPSHOTS, month_end_snapshots, CronTrigger(day=1, hour=2, minute=30)),
]

