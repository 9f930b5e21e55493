"""The only data a user-written template sees: plain dicts and strings built from a contact
and a sender, never ORM objects (see ``rendering.py``)."""
from __future__ import annotations

from typing import Any

from crm.documents.services import video_token
from crm.mail.services import mailbox_signature
from crm.meetings.services import meeting_link_for
from crm.timeutil import utcnow


def meeting_link(user_id: int, enrollment_id: int | None, step_id: int | None, contact_id: int | None = None) -> str:
    return meeting_link_for(user_id, enrollment_id=enrollment_id, step_id=step_id, contact_id=contact_id) or ""


def template_context(contact, sender, *, enrollment_id: int | None = None, step_id: int | None = None,
                     unsubscribe_url: str | None = None, store_links: bool = True) -> dict[str, Any]:
    """``store_links=False`` (previews): ``{{ video }}`` makes no tracked link that is not there yet."""
    company = contact.company
    return {
        "contact": {
            "first_name": contact.first_name or "", "last_name": contact.last_name or "",
            "full_name": contact.full_name, "email": contact.email, "title": contact.title or "",
        },
        "company": {"name": company.name if company else ""},
        "sender": {"name": sender.name, "email": sender.email, "signature": mailbox_signature(sender.id)},
        "meeting_link": meeting_link(sender.id, enrollment_id, step_id, getattr(contact, "id", None)),
        "unsubscribe_url": unsubscribe_url or "",
        "video": video_token(sender.id, contact.id, utcnow(), create=store_links),
    }
