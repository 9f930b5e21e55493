"""What the focused working page shows about one queue entry, in a fixed number of queries."""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select

from crm.calls.scripts import fill_script, list_scripts
from crm.contacts.models import Activity
from crm.deals.models import Deal
from crm.extensions import db
from crm.scoring.services import score_summaries

ENGAGEMENT_KINDS = ("page_viewed", "email_opened", "email_clicked", "form_submitted", "email_replied")


def dial_link(phone: str | None) -> str | None:
    """``tel:`` or the configured click-to-call template (``{phone}`` is replaced, URL-quoted)."""
    if not phone:
        return None
    template = current_app.config.get("CALL_DIALER_URL_TEMPLATE")
    if template:
        return template.replace("{phone}", quote(phone.strip(), safe="+"))
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


def work_context(entry, now: datetime, me) -> dict:
    """What the work page shows for ``entry``; ``me`` is the rep calling (scripts are filled for them)."""
    contact = entry.contact
    recent = db.session.scalars(
        select(Activity).where(Activity.contact_id == contact.id)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(8)
    ).all()
    engagement = db.session.scalars(
        select(Activity).where(Activity.contact_id == contact.id, Activity.kind.in_(ENGAGEMENT_KINDS))
        .order_by(Activity.occurred_at.desc()).limit(8)
    ).all()
    deal = db.session.scalar(
        select(Deal).where(Deal.contact_id == contact.id, Deal.status == "open")
        .order_by(Deal.expected_close).limit(1)
    )
    scripts = list_scripts()
    return {
        "entry": entry, "contact": contact, "company": contact.company, "deal": deal,
        "score": score_summaries([contact.id], now).get(contact.id),
        "recent": recent, "engagement": engagement, "scripts": scripts,
        "filled_scripts": {s.id: fill_script(s.body, contact, me) for s in scripts},
        "dial": dial_link(contact.phone),
    }


def describe_activity(activity: Activity) -> str:
    d = activity.details or {}
    if activity.kind == "page_viewed":
        return f"read {d.get('url') or d.get('path') or 'a page'}"
    if activity.kind in ("email_opened", "email_clicked", "email_sent", "email_replied"):
        verb = {"email_opened": "opened", "email_clicked": "clicked in", "email_sent": "was sent",
                "email_replied": "replied to"}[activity.kind]
        return f"{verb} '{d.get('subject') or 'an email'}'"
    if activity.kind == "call":
        return f"call: {d.get('outcome_label') or d.get('outcome') or ''} {d.get('notes') or ''}".strip()
    if activity.kind == "note":
        return f"note: {d.get('body') or ''}"
    return activity.kind.replace("_", " ")
