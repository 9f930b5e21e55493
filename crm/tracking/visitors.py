"""Website visitors: the anonymous first-party id the snippet keeps, and attaching a visitor
to a contact (a tracked email click or a submitted form), which backfills their earlier page
views onto the contact's timeline and score. Used by the intake (``inbox``) and the snippet's
endpoints (``website``)."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from crm.contacts.models import Contact
from crm.extensions import db
from crm.tracking.events import on_human_event, write_activity
from crm.tracking.models import TrackingEvent, Visitor


def page_path(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return (urlsplit(url).path or "/")[:300]
    except ValueError:
        return None


def find_or_create_visitor(key: str, now: datetime) -> Visitor:
    """Concurrent first requests of one visitor (two tabs) both insert: ``ON CONFLICT DO
    NOTHING`` lets the second one read the first one's row instead of failing."""
    visitor = db.session.scalar(select(Visitor).where(Visitor.key == key))
    if visitor is not None:
        if visitor.last_seen_at < now:
            visitor.last_seen_at = now
        return visitor
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(Visitor).values(key=key, first_seen_at=now, last_seen_at=now)
                       .on_conflict_do_nothing(index_elements=["key"]))
    return db.session.scalar(select(Visitor).where(Visitor.key == key))


def identify(visitor: Visitor, contact: Contact, by: str, now: datetime) -> int:
    """Attach the visitor to ``contact`` and backfill their anonymous page views onto the
    contact's timeline (and score). The latest identification wins for later views (a shared
    browser); views already attributed stay with whoever they were. Returns views attached."""
    if visitor.contact_id != contact.id:
        visitor.contact_id, visitor.identified_at, visitor.identified_by = contact.id, now, by
    anonymous = db.session.scalars(
        select(TrackingEvent).where(TrackingEvent.visitor_id == visitor.id, TrackingEvent.contact_id.is_(None))
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    ).all()
    for event in anonymous:
        event.contact_id = contact.id
        event.activity_id = write_activity(event, contact, None).id
        if event.verdict == "human":
            on_human_event(event, contact, None, alert=False)
    db.session.flush()
    return len(anonymous)
