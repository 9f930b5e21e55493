"""The customer websites allowed to send page views and forms (CORS allow-list).

The list is read on every collect request, so each process keeps it for a few seconds
(``TRACKING_ORIGIN_CACHE_SECONDS``); an admin change is seen everywhere within that time.
"""
from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from crm.errors import Conflict, NotFound, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.policy import require_admin
from crm.tracking.models import TrackedOrigin

_cache: dict[str, object] = {"at": 0.0, "origins": frozenset(), "db": None}


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-case, default ports dropped."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def normalize_origin(raw: str) -> str:
    """An origin as the admin typed it (``https://www.acme.com/``) in canonical form.

    :raises ValidationFailed: not an http(s) origin, or it has a path or query
    """
    text = (raw or "").strip().rstrip("/")
    origin = origin_of(text)
    if origin is None or len(origin) > 255:
        raise ValidationFailed(_("not a website origin"), {"origin": _("use the form https://www.example.com")})
    parts = urlsplit(text)
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationFailed(_("not a website origin"), {"origin": _("only scheme, host and port, no path")})
    return origin


def tracked_origins() -> frozenset[str]:
    ttl = current_app.config.get("TRACKING_ORIGIN_CACHE_SECONDS", 5)
    key = id(db.engine)
    if _cache["db"] != key or time.monotonic() - float(_cache["at"]) > ttl:
        _cache["origins"] = frozenset(db.session.scalars(select(TrackedOrigin.origin)).all())
        _cache["at"], _cache["db"] = time.monotonic(), key
    return _cache["origins"]  # type: ignore[return-value]


def forget_cache() -> None:
    _cache["at"] = 0.0


def is_tracked_origin(origin: str | None) -> bool:
    return bool(origin) and origin in tracked_origins()


def list_origins() -> list[TrackedOrigin]:
    return list(db.session.scalars(select(TrackedOrigin).order_by(TrackedOrigin.origin)).all())


def add_origin(actor, raw: str, now: datetime) -> TrackedOrigin:
    require_admin(actor)
    origin = normalize_origin(raw)
    if db.session.scalar(select(TrackedOrigin.id).where(TrackedOrigin.origin == origin)):
        raise Conflict(_("this origin is already tracked"), {"origin": _("already tracked")})
    row = TrackedOrigin(origin=origin, created_at=now)
    db.session.add(row)
    db.session.flush()
    forget_cache()
    return row


def remove_origin(actor, origin_id: int) -> None:
    require_admin(actor)
    row = db.session.get(TrackedOrigin, origin_id)
    if row is None:
        raise NotFound(_("no such origin"))
    db.session.delete(row)
    db.session.flush()
    forget_cache()
