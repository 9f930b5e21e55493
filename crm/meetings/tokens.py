"""Signed tokens in public links (itsdangerous, keyed by the app's SECRET_KEY): the guest's
manage link (cancel / reschedule) and the source token a sequence puts on a rep's booking link
so the booking is credited to the step."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

_MANAGE_SALT = "meetings.manage"
_SOURCE_SALT = "meetings.source"


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def manage_token(meeting) -> str:
    # The UID is in the payload so a token can never be replayed against another meeting
    # that reused an id (after a database restore, say).
    return _serializer(_MANAGE_SALT).dumps({"m": meeting.id, "u": meeting.uid})


def read_manage_token(token: str) -> tuple[int, str] | None:
    """(meeting id, uid), or None for a forged or mangled token."""
    try:
        data = _serializer(_MANAGE_SALT).loads(str(token)[:500])
        return int(data["m"]), str(data["u"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def source_token(enrollment_id: int | None, step_id: int | None, contact_id: int | None = None) -> str:
    data = {"e": enrollment_id, "s": step_id}
    if contact_id is not None:
        data["c"] = contact_id  # who the link was sent to: the booking form greets them by name
    return _serializer(_SOURCE_SALT).dumps(data)


def read_source_contact(token: str | None) -> int | None:
    """The contact a sequence link was sent to, or None (no, old or bad token)."""
    if not token:
        return None
    try:
        contact_id = _serializer(_SOURCE_SALT).loads(str(token)[:500]).get("c")
        return int(contact_id) if contact_id is not None else None
    except (BadSignature, AttributeError, TypeError, ValueError):
        return None


def read_source_token(token: str | None) -> tuple[int | None, int | None]:
    """(enrollment id, step id) from a sequence link; (None, None) for none or a bad one."""
    if not token:
        return None, None
    try:
        data = _serializer(_SOURCE_SALT).loads(str(token)[:500])
        enrollment, step = data.get("e"), data.get("s")
        return (int(enrollment) if enrollment is not None else None,
                int(step) if step is not None else None)
    except (BadSignature, AttributeError, TypeError, ValueError):
        return None, None
