"""The tracking feature's public face (the only module other features import, with ``models``):

- ``instrument_html`` / ``insert_links``: mail's outbound path gives each email an open pixel
  and its links click tokens when it renders and sends;
- ``recent_human_intent``: calls' queue puts contacts reading an email or a pricing page now at
  the top;
- ``judge_request``: the verdict rules (scanner user agents and networks, HEAD requests) on a
  request that arrived elsewhere (the documents viewer's beacons), so machines count nowhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from crm.contacts.models import Contact
from crm.extensions import db
from crm.tracking import verdicts
from crm.tracking.email import insert_links, instrument_html
from crm.tracking.models import TrackingEvent

__all__ = ["Intent", "recent_human_intent", "instrument_html", "insert_links", "judge_request"]


@dataclass(frozen=True)
class Intent:
    contact_id: int
    kind: str  # email_opened | email_clicked | page_viewed (high-value pages only)
    occurred_at: datetime
    label: str  # e.g. "opened 'Pricing follow-up'", "read /pricing"


VERBS = {"email_opened": "opened", "email_clicked": "clicked a link in", "page_viewed": "read"}


def recent_human_intent(owner_id: int, since: datetime) -> list[Intent]:
    """Human (verdict ``human``) opens, clicks and high-value page views since ``since`` by
    contacts owned by ``owner_id``, newest first, one per contact."""
    rows = db.session.execute(
        select(TrackingEvent.contact_id, TrackingEvent.kind, TrackingEvent.occurred_at,
               TrackingEvent.label, TrackingEvent.url)
        .join(Contact, Contact.id == TrackingEvent.contact_id)
        .where(
            Contact.owner_id == owner_id, TrackingEvent.verdict == "human",
            TrackingEvent.occurred_at >= since,
            or_(TrackingEvent.kind.in_(("email_opened", "email_clicked")),
                and_(TrackingEvent.kind == "page_viewed", TrackingEvent.high_value.is_(True))),
        )
        .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
        .limit(2000)
    ).all()
    seen: set[int] = set()
    intents = []
    for contact_id, kind, occurred_at, label, url in rows:
        if contact_id is None or contact_id in seen:  # never None: joined to its contact
            continue
        seen.add(contact_id)
        what = label or url or "your email"
        intents.append(Intent(contact_id, kind, occurred_at, f"{VERBS[kind]} {what}"))
    return intents


def judge_request(kind: str, occurred_at: datetime, *, ip: str | None, user_agent: str | None,
                  method: str = "GET") -> tuple[str, str]:
    """(verdict, reason) of one request by the tracking rules that need no neighbours: HEAD
    requests, scanner user agents and scanner networks are ``scanner``, the rest ``human``."""
    found = verdicts.classify(verdicts.EventFacts(kind=kind, occurred_at=occurred_at, method=method, ip=ip,
                                                  user_agent=user_agent, target=None))
    return found.verdict, found.reason
