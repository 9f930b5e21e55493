"""Read side of tracking: the contact panel, the events list, companies on the site."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from crm.extensions import db
from crm.tracking.models import TrackingEvent
from crm.web.pagination import Page, paginate

PANEL_KINDS = ("email_opened", "email_clicked", "page_viewed", "form_submitted")


def contact_events(contact_id: int, limit: int = 15) -> list[TrackingEvent]:
    """The newest tracking events of a contact, machine ones included (the page marks them)."""
    return list(db.session.scalars(
        select(TrackingEvent).where(TrackingEvent.contact_id == contact_id)
        .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc()).limit(limit)
    ).all())


def human_counts(contact_id: int) -> dict[str, int]:
    """Human events by kind: what counters show (machine events never count)."""
    rows = db.session.execute(
        select(TrackingEvent.kind, func.count()).where(
            TrackingEvent.contact_id == contact_id, TrackingEvent.verdict == "human")
        .group_by(TrackingEvent.kind)
    ).all()
    return {kind: count for kind, count in rows}


def list_events(*, contact_id: int | None = None, kind: str | None = None, verdict: str | None = None,
                since: datetime | None = None, page: int = 1, per_page: int = 50) -> Page:
    query = select(TrackingEvent)
    if contact_id is not None:
        query = query.where(TrackingEvent.contact_id == contact_id)
    if kind:
        query = query.where(TrackingEvent.kind == kind)
    if verdict:
        query = query.where(TrackingEvent.verdict == verdict)
    if since is not None:
        query = query.where(TrackingEvent.occurred_at >= since)
    return paginate(query.order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc()), page, per_page)


@dataclass(frozen=True)
class CompanyVisit:
    company_name: str
    domain: str | None
    views: int
    visitors: int
    last_seen_at: datetime
    pages: list[tuple[str, int]]  # (path, views), most read first


def companies_visiting(now: datetime, *, days: int = 7, limit: int = 50) -> list[CompanyVisit]:
    """Companies whose people read the site in the last ``days`` days (human views only),
    most views first, each with the pages they read."""
    since = now - timedelta(days=days)
    base = (TrackingEvent.kind == "page_viewed", TrackingEvent.verdict == "human",
            TrackingEvent.occurred_at >= since, TrackingEvent.company_name.is_not(None))
    companies = db.session.execute(
        select(TrackingEvent.company_name, func.max(TrackingEvent.company_domain), func.count(),
               func.count(func.distinct(TrackingEvent.visitor_id)), func.max(TrackingEvent.occurred_at))
        .where(*base).group_by(TrackingEvent.company_name)
        .order_by(func.count().desc(), TrackingEvent.company_name).limit(limit)
    ).all()
    names = [row[0] for row in companies]
    pages: dict[str, list[tuple[str, int]]] = {name: [] for name in names}
    if names:
        for name, label, count in db.session.execute(
            select(TrackingEvent.company_name, TrackingEvent.label, func.count())
            .where(*base, TrackingEvent.company_name.in_(names))
            .group_by(TrackingEvent.company_name, TrackingEvent.label)
            .order_by(func.count().desc(), TrackingEvent.label)
        ).all():
            if len(pages[name]) < 8:
                pages[name].append((label or "/", count))
    return [CompanyVisit(name, domain, views, visitors, last, pages[name])
            for name, domain, views, visitors, last in companies]
