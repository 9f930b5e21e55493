"""Scoring entry point. CONTRACT (called by tracking, mail.inbound, calls, meetings)."""
from __future__ import annotations

from datetime import datetime


def record_event(contact_id: int, kind: str, occurred_at: datetime, *, url: str | None = None) -> None:
    """Add one human event (``email_opened``, ``email_clicked``, ``page_viewed``,
    ``form_submitted``, ``email_replied``, ``meeting_booked``...) to the contact's engagement
    score, O(1). Machine events (non-human verdicts) must not be passed. Flushes."""
    return None
