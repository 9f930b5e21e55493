"""The rep's booking link. CONTRACT (called by sequences for ``{{ meeting_link }}``)."""
from __future__ import annotations


def meeting_link_for(user_id: int, *, enrollment_id: int | None = None, step_id: int | None = None) -> str | None:
    """Absolute URL of the user's default meeting type page, carrying a signed source token
    when ``enrollment_id``/``step_id`` are given (a booking through it is credited to that
    step); None when the user has no meeting type."""
    return None
