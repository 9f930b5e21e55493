"""The rep's booking link, re-exported by ``crm.meetings.services`` (sequences put it in emails
as ``{{ meeting_link }}``)."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import select

from crm.extensions import db
from crm.meetings.models import MeetingType
from crm.meetings.tokens import source_token


def default_meeting_type(user_id: int) -> MeetingType | None:
    """The user's own active type: the oldest one, so the link in sent emails stays stable."""
    return db.session.scalar(
        select(MeetingType)
        .where(MeetingType.owner_id == user_id, MeetingType.is_active.is_(True))
        .order_by(MeetingType.created_at, MeetingType.id).limit(1)
    )


def public_url(slug: str, **params) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    query = {k: v for k, v in params.items() if v}
    return f"{base}/meet/{slug}" + (f"?{urlencode(query)}" if query else "")


def meeting_link_for(user_id: int, *, enrollment_id: int | None = None, step_id: int | None = None,
                     contact_id: int | None = None) -> str | None:
    """Absolute URL of the user's default meeting type page, carrying a signed source token
    when ``enrollment_id``/``step_id`` are given (a booking through it is credited to that
    step); None when the user has no meeting type."""
    meeting_type = default_meeting_type(user_id)
    if meeting_type is None:
        return None
    src = source_token(enrollment_id, step_id, contact_id) if (enrollment_id or step_id) else None
    return public_url(meeting_type.slug, src=src)
