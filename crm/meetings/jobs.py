"""Worker jobs of the meetings feature: refresh external calendar feeds."""
from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import or_, select

from crm.auth.models import User
from crm.extensions import db
from crm.meetings.calendars import REFRESH_EVERY, refresh_calendar
from crm.meetings.models import ExternalCalendar
from crm.scheduler import Job

BATCH = 50


def refresh_due_feeds(now: datetime) -> str | None:
    """Fetch every feed not fetched in the last 15 minutes, oldest first, one commit each so
    a slow feed never holds the others' results back."""
    due = db.session.execute(
        select(ExternalCalendar.id, User.time_zone).join(User, User.id == ExternalCalendar.user_id)
        .where(ExternalCalendar.kind == "url",
               or_(ExternalCalendar.last_fetched_at.is_(None), ExternalCalendar.last_fetched_at <= now - REFRESH_EVERY))
        .order_by(ExternalCalendar.last_fetched_at.asc().nulls_first(), ExternalCalendar.id).limit(BATCH)
    ).all()
    ok = 0
    for calendar_id, zone in due:
        calendar = db.session.get(ExternalCalendar, calendar_id)
        if calendar is not None and refresh_calendar(calendar, zone or "UTC", now):
            ok += 1
        db.session.commit()
    return f"{ok}/{len(due)} calendar feeds refreshed" if due else None


JOBS: list = [Job("meetings-refresh-calendar-feeds", refresh_due_feeds, IntervalTrigger(minutes=5))]
