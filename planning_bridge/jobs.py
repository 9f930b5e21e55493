"""The bridge's scheduled work, added to the CRM's one job table (run by ``crm worker``)."""
from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from planning_bridge import crm_port

MONTH_END_SNAPSHOTS = "planning-month-end-snapshots"


def month_end_snapshots(now):
    """Both probability sources' snapshots of the month just closed (idempotent)."""
    from planning_bridge.snapshots import take_month_end_snapshots

    return take_month_end_snapshots(now)


def register_jobs() -> None:
    # Shortly after each month end, early enough to be there when the S&OP cycle starts.
    crm_port.register_job(MONTH_END_SNAPSHOTS, month_end_snapshots, CronTrigger(day=1, hour=2, minute=30))
