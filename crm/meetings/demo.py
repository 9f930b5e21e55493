"""Demo data of the meetings feature: a 30-minute intro link per rep (their own zone, weekday
hours around the prospecting block), a team demo link for the manager's reps, and a few past
and upcoming meetings with the reps' own contacts. Rows only: no invite is mailed."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.contacts.models import Contact
from crm.contacts.services import record_activity
from crm.extensions import db
from crm.meetings.models import Meeting, MeetingType
from crm.meetings.services import create_meeting_type, meeting_title

REP_KEYS = ("europe", "east", "west")
HOURS = [{"weekday": d, "start": s, "end": e} for d in range(5) for s, e in (("10:30", "12:30"), ("13:30", "17:00"))]
# (days from today, local hour): negative days are past meetings.
PLAN = [(-9, 11), (-6, 14), (-2, 15), (2, 11), (5, 14)]


def _weekday_from(today: date, offset: int) -> date:
    day = today + timedelta(days=offset)
    while day.weekday() >= 5:
        day += timedelta(days=1 if offset >= 0 else -1)
    return day


def _meeting(meeting_type, rep, contact, start: datetime, booked_at: datetime) -> Meeting:
    meeting = Meeting(
        meeting_type_id=meeting_type.id, host_id=rep.id, contact_id=contact.id,
        title=meeting_title(meeting_type.name, contact.full_name, rep),
        start_at=start, end_at=start + timedelta(minutes=meeting_type.duration_minutes),
        buffer_before_minutes=meeting_type.buffer_before_minutes,
        buffer_after_minutes=meeting_type.buffer_after_minutes, status="confirmed",
        uid=f"demo-{uuid.uuid5(uuid.NAMESPACE_URL, f'{rep.id}-{start.isoformat()}')}@crm.localhost",
        guest_name=contact.full_name, guest_email=contact.email, guest_time_zone=contact.effective_time_zone,
        answers={"q1": "Replacing two ageing pumps next quarter"}, location_kind=meeting_type.location_kind,
        location_value=meeting_type.location_value, created_at=booked_at, updated_at=booked_at,
    )
    db.session.add(meeting)
    db.session.flush()
    record_activity("meeting_booked", meeting.created_at, contact_id=contact.id, company_id=contact.company_id,
                    user_id=rep.id, details={"meeting_id": meeting.id, "title": meeting.title,
                                             "start": start.isoformat(), "meeting_type": meeting_type.name})
    return meeting


def seed(actors, today, now) -> dict[str, int]:
    counts = {"meeting_types": 0, "meetings": 0}
    for key in REP_KEYS:
        rep = actors[key]
        slug = re.sub(r"[^a-z0-9]+", "-", rep.name.split()[0].lower()).strip("-") + "-intro"
        if db.session.scalar(select(MeetingType.id).where(MeetingType.slug == slug)):
            slug = f"{slug}-{rep.id}"
        meeting_type = create_meeting_type(rep, {
            "name": "30-minute intro", "slug": slug, "duration_minutes": 30, "time_zone": rep.time_zone or "UTC",
            "weekly_hours": HOURS, "buffer_before_minutes": 10, "buffer_after_minutes": 10, "min_notice_hours": 4,
            "horizon_days": 30, "increment_minutes": 30, "daily_max": 6, "location_kind": "video",
            "location_value": f"https://video.example.com/{slug}",
            "questions": [{"label": "What would you like to cover?", "required": False}],
        }, now)
        counts["meeting_types"] += 1
        contacts = list(db.session.scalars(
            select(Contact).where(Contact.owner_id == rep.id).order_by(Contact.id).limit(len(PLAN))))
        zone = ZoneInfo(meeting_type.time_zone)
        # The demo's history ends before today's midnight: even upcoming meetings were booked then.
        history_end = datetime.combine(today, time(0), tzinfo=ZoneInfo("UTC")) - timedelta(hours=2)
        for (offset, hour), contact in zip(PLAN, contacts):
            start = datetime.combine(_weekday_from(today, offset), time(hour), tzinfo=zone).astimezone(ZoneInfo("UTC"))
            _meeting(meeting_type, rep, contact, start, min(start - timedelta(days=3), history_end))
            counts["meetings"] += 1
    manager = actors["manager"]
    create_meeting_type(manager, {
        "name": "Product demo (team)", "slug": "team-demo", "duration_minutes": 45, "time_zone": "Europe/Berlin",
        "weekly_hours": HOURS, "buffer_after_minutes": 15, "min_notice_hours": 24, "increment_minutes": 15,
        "location_kind": "video", "location_value": "https://video.example.com/team-demo",
        "member_ids": [actors[k].id for k in REP_KEYS],
    }, now)
    counts["meeting_types"] += 1
    db.session.flush()
    return counts
