"""The bridge's periodic work: ``JOBS``, joined into the worker's one job table by the manifest
(``crm/features.py``; run by ``crm worker``)."""
from __future__ import annotations

from datetime import datetime

from planning_bridge import services
from planning_bridge.crm_port import CronTrigger, Job

MONTH_END_SNAPSHOTS = "planning-month-end-snapshots"
MONTH_END_FIGURES = "planning-month-end-figures"


def month_end_snapshots(now: datetime) -> list[int]:
    """Both probability sources' snapshots of the month just closed (idempotent): the ids taken."""
    return services.take_month_end_snapshots(now)


def month_end_figures(now: datetime) -> list[int]:
    """Accuracy and calibration of the month just closed, stored for the pages, and each
    family's probability source chosen again from them."""
    return services.compute_default_figures(now)


JOBS: list[Job] = [
    # Before the snapshots: they record the source choice these figures make.
    Job(MONTH_END_FIGURES, month_end_figures, CronTrigger(day=1, hour=2, minute=0)),
    # Shortly after each month end, early enough to be there when the S&OP cycle starts.
    Job(MONTH_END_SNAPSHOTS, month_end_snapshots, CronTrigger(day=1, hour=2, minute=30)),
]

