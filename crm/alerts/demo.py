"""Demo data of the alerts feature: each rep finds a few unread alerts about their hottest
contacts (the scoring demo ran just before), so the badge and the alerts page are alive."""
from __future__ import annotations

from datetime import timedelta

from crm.alerts.services import notify
from crm.contacts.models import Contact
from crm.extensions import db
from crm.scoring.services import score_summaries, top_scored_contacts

PER_REP = 3


def seed(actors, today, now) -> dict[str, int]:
    created = 0
    for key in ("europe", "east", "west"):
        rep = actors.get(key)
        if rep is None:
            continue
        top = top_scored_contacts(rep.id, now, PER_REP)
        summaries = score_summaries([cid for cid, _ in top], now)
        for minutes, (contact_id, score) in enumerate(top):
            contact = db.session.get(Contact, contact_id)
            factors = summaries[contact_id].factors
            reason = factors[0] if factors else "is active"
            notify(rep.id, "hot_lead", f"{contact.full_name} {reason} (score {score:.0f}): call",
                   now=now - timedelta(minutes=5 + 17 * minutes), contact_id=contact_id,
                   url=f"/contacts/{contact_id}")
            created += 1
    return {"alerts": created} if created else {}
