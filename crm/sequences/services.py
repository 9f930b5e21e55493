"""Sequence services. CONTRACT (called by mail, meetings, calls, contacts): the functions
below keep these signatures; the sequences feature fills in their bodies."""
from __future__ import annotations

from datetime import datetime

STOP_REASONS = ("replied", "bounced", "unsubscribed", "meeting_booked", "manual", "contact_deleted")


def stop_enrollments_for(contact, reason: str, actor, now: datetime) -> list[int]:
    """Stop every active or paused enrollment of ``contact`` with ``reason`` (one of
    STOP_REASONS); ``actor`` is a User or None for the system. Returns the stopped ids.
    Flushes, never commits."""
    return []


def pause_enrollments_for(contact, reason: str, until: datetime | None, now: datetime) -> list[int]:
    """Pause the contact's active enrollments until ``until`` (None: the configured default),
    moving due dates forward on resume. Returns the paused ids. Flushes, never commits."""
    return []
