"""Tracking as other features see it. CONTRACT (called by calls for live intent)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Intent:
    contact_id: int
    kind: str  # email_opened | email_clicked | page_viewed (high-value pages only)
    occurred_at: datetime
    label: str  # e.g. "opened 'Pricing follow-up'", "read /pricing"


def recent_human_intent(owner_id: int, since: datetime) -> list[Intent]:
    """Human (verdict ``human``) opens, clicks and high-value page views since ``since`` by
    contacts owned by ``owner_id``, newest first, one per contact."""
    return []
