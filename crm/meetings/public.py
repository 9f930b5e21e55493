"""Meetings as other features see them. CONTRACT (called by calls: calendar page, ICS feed)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MeetingView:
    id: int
    title: str
    start: datetime  # aware UTC
    end: datetime
    contact_id: int | None


def meetings_between(user_id: int, start: datetime, end: datetime) -> list[MeetingView]:
    """The user's confirmed (not cancelled) meetings overlapping [start, end)."""
    return []
