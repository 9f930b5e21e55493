"""The only data a user-written template sees: plain dicts and strings built from a contact
and a sender, never ORM objects (see ``rendering.py``)."""
from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import select

from crm.extensions import db


def sender_signature(user_id: int) -> str:
    """The sender's mailbox signature when the mail feature has one, else ""."""
    try:
        models = importlib.import_module("crm.mail.models")
    except ImportError:  # pragma: no cover - mail always ships with the app
        return ""
    mailbox = getattr(models, "Mailbox", None)
    if mailbox is None or not hasattr(mailbox, "signature"):
        return ""
    return db.session.scalar(select(mailbox.signature).where(mailbox.user_id == user_id)) or ""


def meeting_link(user_id: int, enrollment_id: int | None, step_id: int | None) -> str:
    from crm.meetings.links import meeting_link_for

    return meeting_link_for(user_id, enrollment_id=enrollment_id, step_id=step_id) or ""


def template_context(contact, sender, *, enrollment_id: int | None = None, step_id: int | None = None,
                     unsubscribe_url: str | None = None) -> dict[str, Any]:
    company = contact.company
    return {
        "contact": {
            "first_name": contact.first_name or "", "last_name": contact.last_name or "",
            "full_name": contact.full_name, "email": contact.email, "title": contact.title or "",
        },
        "company": {"name": company.name if company else ""},
        "sender": {"name": sender.name, "email": sender.email, "signature": sender_signature(sender.id)},
        "meeting_link": meeting_link(sender.id, enrollment_id, step_id),
        "unsubscribe_url": unsubscribe_url or "",
    }
