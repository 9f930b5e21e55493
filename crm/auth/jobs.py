"""The auth feature's periodic work: expired sign-in sessions are deleted once a night."""
from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from crm.auth.services import purge_expired_sessions
from crm.scheduler import Job

JOBS = [Job("purge-expired-sessions", purge_expired_sessions, CronTrigger(hour=3, minute=17))]
