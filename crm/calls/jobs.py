"""Worker jobs of the calls feature: build each rep's queue early in their morning, and let
live intent join today's queues every minute. Both are safe to run twice (the build is
once-a-day per rep, recorded in ``CallSettings.queue_built_on``; intent joins are upserts)."""
from __future__ import annotations

import logging
from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.auth.models import User
from crm.calls.models import CallSettings
from crm.calls.queue import ACTIVE_CALLERS, QueueRaced, build_queue, refresh_live_intent, today_for
from crm.extensions import db
from crm.scheduler import CronTrigger, IntervalTrigger, Job

log = logging.getLogger(__name__)
MORNING = time(6, 0)  # rep-local: the queue is ready before the first block


def _callers() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role.in_(ACTIVE_CALLERS), User.is_active.is_(True))))


def build_morning_queues(now) -> int:
    """Build today's queue for every rep whose local morning has come and who has none yet."""
    built = 0
    for user in _callers():
        local = now.astimezone(ZoneInfo(user.time_zone or "UTC"))
        settings = db.session.get(CallSettings, user.id)
        if local.time() < MORNING or (settings and settings.queue_built_on == today_for(user, now)):
            continue
        try:
            build_queue(user, now)
            built += 1
        except QueueRaced:  # built on demand at the same moment: theirs stands
            log.info("queue of user %s built concurrently", user.id)
    return built


def join_live_intent(now) -> int:
    joined = 0
    for user in _callers():
        settings = db.session.get(CallSettings, user.id)
        if settings is None or settings.queue_built_on != today_for(user, now):
            continue  # no queue today yet: the morning build takes intent in
        joined += refresh_live_intent(user, now)  # a concurrent join is skipped inside (a savepoint)
    return joined


JOBS: list = [
    Job("calls-build-morning-queues", build_morning_queues, CronTrigger(minute="*/10")),
    Job("calls-join-live-intent", join_live_intent, IntervalTrigger(seconds=60)),
]
