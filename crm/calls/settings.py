"""Per-rep call settings: calls per hour (sizes the queue) and the secret ICS feed token."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from crm.calls.models import CallSettings
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _

MAX_CALLS_PER_HOUR = 60


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def settings_for(user, now: datetime | None = None) -> CallSettings:
    """The rep's settings, created with the configured defaults on first use. Flushes."""
    found = db.session.get(CallSettings, user.id)
    if found is None:
        found = CallSettings(user_id=user.id, calls_per_hour=current_app.config.get("CALLS_PER_HOUR", 12),
                             feed_token=_new_token())
        if now is not None:
            found.feed_token_created_at = now
        db.session.add(found)
        db.session.flush()
    return found


def stored_settings(user) -> CallSettings:
    """The rep's settings as a page shows them, without writing: the stored row, or an unsaved
    one with the configured defaults (no feed token: the blocks page creates it)."""
    found = db.session.get(CallSettings, user.id)
    if found is not None:
        return found
    return CallSettings(user_id=user.id, calls_per_hour=current_app.config.get("CALLS_PER_HOUR", 12),
                        queue_built_on=None)


def set_calls_per_hour(user, value, now: datetime) -> CallSettings:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= MAX_CALLS_PER_HOUR:
        raise ValidationFailed(
            _("invalid settings"),
            {"calls_per_hour": _("a whole number from 1 to %(MAX_CALLS_PER_HOUR)s",
                                 MAX_CALLS_PER_HOUR=MAX_CALLS_PER_HOUR)})
    settings = settings_for(user, now)
    settings.calls_per_hour = number
    db.session.flush()
    return settings


def regenerate_feed_token(user, now: datetime) -> CallSettings:
    """A new secret: calendars subscribed to the old URL stop updating."""
    settings = settings_for(user, now)
    settings.feed_token = _new_token()
    settings.feed_token_created_at = now
    db.session.flush()
    return settings


def user_id_for_feed_token(token: str) -> int | None:
    if not token or len(token) > 64:
        return None
    found = db.session.scalar(select(CallSettings).where(CallSettings.feed_token == token))
    if found is None or not hmac.compare_digest(found.feed_token, token):
        return None
    return found.user_id


def feed_url(settings: CallSettings) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/calls/feed/{settings.feed_token}.ics"
