"""Prospecting time blocks as busy time. CONTRACT (called by meetings)."""
from __future__ import annotations

from datetime import datetime


def busy_intervals(user_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The user's prospecting blocks overlapping [start, end), as aware UTC (start, end) pairs,
    recurring blocks expanded at their local wall-clock time."""
    return []
