"""Meetings as other features see them. CONTRACT (called by calls: calendar page, ICS feed)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from crm.extensions import db
from crm.meetings.models import Meeting


@dataclass(frozen=True)
class MeetingView:
    id: int
    title: str
    start: datetime  # aware UTC
    end: datetime
    contact_id: int | None


def meetings_between(user_id: int, start: datetime, end: datetime) -> list[MeetingView]:
    """The user's confirmed (not cancelled) meetings overlapping [start, end)."""
    rows = db.session.execute(
        select(Meeting.id, Meeting.title, Meeting.start_at, Meeting.end_at, Meeting.contact_id)
        .where(Meeting.host_id == user_id, Meeting.status == "confirmed",
               Meeting.start_at < end, Meeting.end_at > start)
        .order_by(Meeting.start_at, Meeting.id)
    )
    return [MeetingView(*row) for row in rows]
