"""Scores as other features see them. CONTRACT (called by calls, contacts pages)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ScoreSummary:
    score: float  # 0-100, what reps rank by
    engagement: float  # decayed to ``now``
    fit: float
    predictive: float | None
    factors: list[str] = field(default_factory=list)  # "read the pricing page 3 times this week"


def top_scored_contacts(owner_id: int, now: datetime, limit: int, exclude_ids: set[int] | frozenset = frozenset()) -> list[tuple[int, float]]:
    """(contact_id, score) of the owner's best-scored contacts, best first, using an index
    (no scan of every contact)."""
    return []


def score_summaries(contact_ids: list[int], now: datetime) -> dict[int, ScoreSummary]:
    """Scores with their top factors for several contacts, in a bounded number of queries."""
    return {}
