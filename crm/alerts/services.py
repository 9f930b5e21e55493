"""In-app alerts. CONTRACT (called by tracking, mail.inbound, meetings, calls)."""
from __future__ import annotations

from datetime import datetime


def notify(user_id: int | None, kind: str, message: str, *, now: datetime,
           contact_id: int | None = None, url: str | None = None) -> None:
    """Queue an alert for ``user_id`` (None: nobody, ignored), e.g. kind ``hot_lead``,
    ``reply``, ``meeting_booked``. Shown in the app within seconds. Flushes, never commits."""
    return None
