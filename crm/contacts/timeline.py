"""The timeline: the append-only ``Activity`` rows every feature writes when something
happens to a contact, company or deal, and the newest-first pages that read them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.contacts.models import Activity
from crm.extensions import db
from crm.web.pagination import Page, clamp_page


def record_activity(
    kind: str,
    occurred_at: datetime,
    *,
    contact_id: int | None = None,
    company_id: int | None = None,
    deal_id: int | None = None,
    user_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Activity:
    """Append one timeline row. Every feature that touches a contact calls this."""
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    activity = Activity(
        kind=kind, occurred_at=occurred_at, contact_id=contact_id, company_id=company_id,
        deal_id=deal_id, user_id=user_id, details=details or {},
    )
    db.session.add(activity)
    db.session.flush()
    return activity


def timeline(
    *, contact_id: int | None = None, company_id: int | None = None, deal_id: int | None = None,
    kind: str | None = None, page: int = 1, per_page: int = 25,
) -> Page:
    """A contact's, company's or deal's activities, newest first."""
    page, per_page = clamp_page(page, per_page, default=25)
    query = select(Activity)
    if contact_id is not None:
        query = query.where(Activity.contact_id == contact_id)
    if company_id is not None:
        query = query.where(Activity.company_id == company_id)
    if deal_id is not None:
        query = query.where(Activity.deal_id == deal_id)
    if kind:
        query = query.where(Activity.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.options(joinedload(Activity.user))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)
