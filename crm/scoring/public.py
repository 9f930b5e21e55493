"""Scores as other features see them. CONTRACT (called by calls, contacts pages)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from crm.contacts.models import Contact
from crm.extensions import db
from crm.scoring.engine import ZERO_KEY, engagement_at, score_now
from crm.scoring.explain import MAX_FACTORS, engagement_factors, fit_by_contact, fit_phrases
from crm.scoring.models import ContactScore
from crm.scoring.rules import load_ruleset


@dataclass(frozen=True)
class ScoreSummary:
    score: float  # 0-100, what reps rank by
    engagement: float  # decayed to ``now``
    fit: float
    predictive: float | None
    factors: list[str] = field(default_factory=list)  # "read the pricing page 3 times this week"


def top_scored_contacts(owner_id: int, now: datetime, limit: int, exclude_ids: set[int] | frozenset = frozenset()) -> list[tuple[int, float]]:
    """(contact_id, score) of the owner's best-scored contacts, best first, using an index
    (no scan of every contact). Contacts with no engagement at all are not listed."""
    ruleset = load_ruleset()
    # The (owner_id, rank_key, contact_id) index gives the order; the join drops contacts
    # whose owner changed since the copy was refreshed (at most a minute ago).
    query = (
        select(ContactScore).join(Contact, Contact.id == ContactScore.contact_id)
        .where(ContactScore.owner_id == owner_id, Contact.owner_id == owner_id, ContactScore.rank_key > ZERO_KEY)
        .order_by(ContactScore.rank_key.desc(), ContactScore.contact_id.desc()).limit(max(0, limit))
    )
    if exclude_ids:
        query = query.where(ContactScore.contact_id.not_in(list(exclude_ids)))
    return [(row.contact_id, score_now(row, now, ruleset)) for row in db.session.scalars(query)]


def score_summaries(contact_ids: list[int], now: datetime) -> dict[int, ScoreSummary]:
    """Scores with their top factors for several contacts, in a bounded number of queries."""
    ids = sorted({int(c) for c in contact_ids})
    if not ids:
        return {}
    ruleset = load_ruleset()
    rows = {r.contact_id: r for r in db.session.scalars(select(ContactScore).where(ContactScore.contact_id.in_(ids)))}
    fits = fit_by_contact(ids, ruleset)
    events = engagement_factors(ids, now, ruleset)
    summaries = {}
    for contact_id in ids:
        if contact_id not in fits:
            continue  # no such contact
        row = rows.get(contact_id)
        fit = fits[contact_id]
        predictive = row.predictive if row else None
        factors = events.get(contact_id, [])[:MAX_FACTORS - 1] + fit_phrases(fit)
        if predictive is not None:
            factors.append(f"{round(predictive * 100)}% likely to become an opportunity (model)")
        summaries[contact_id] = ScoreSummary(
            score=score_now(row, now, ruleset) if row else 0.0,
            engagement=round(engagement_at(row.engagement, row.engagement_as_of, now, ruleset.half_life_hours), 4) if row else 0.0,
            fit=fit.points, predictive=predictive, factors=factors[:MAX_FACTORS + 1],
        )
    return summaries
