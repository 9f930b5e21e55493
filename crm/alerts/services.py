"""In-app alerts. CONTRACT (called by tracking, mail.inbound, meetings, calls).

Alerts are rows; the browser polls ``/alerts/poll?after=<last id>`` every few seconds (one
index range scan on (user_id, id)), shows a toast per new alert and a badge of unread ones.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult

from crm.alerts.models import Alert
from crm.errors import NotFound
from crm.extensions import db
from crm.i18n import _
from crm.web.pagination import Page, paginate

# A contact reading five pages in a row is one "hot lead" moment, not five alerts.
REPEAT_WINDOW = timedelta(minutes=15)
COLLAPSED_KINDS = ("hot_lead",)
POLL_LIMIT = 20


def notify(user_id: int | None, kind: str, message: str, *, now: datetime, params: dict[str, Any] | None = None,
           contact_id: int | None = None, url: str | None = None) -> None:
    """Queue an alert for ``user_id`` (None: nobody, ignored), e.g. kind ``hot_lead``,
    ``reply``, ``meeting_booked``. Shown in the app within seconds. Flushes, never commits.

    ``message`` is an ``N_``-marked English message with ``%(name)s`` placeholders and
    ``params`` their values: the alert is stored as that data and read in whoever looks at
    it's language (``Alert.text``)."""
    if user_id is None:
        return None
    if kind in COLLAPSED_KINDS and contact_id is not None and _recent_same(user_id, kind, contact_id, now):
        return None
    values = {key: value if isinstance(value, (int, float)) else str(value)[:300]
              for key, value in (params or {}).items()}
    english = message % values if params is not None else message
    db.session.add(Alert(user_id=user_id, kind=kind[:40], message=english[:500], contact_id=contact_id,
                         message_data={"msgid": message, "params": values} if params is not None else None,
                         url=(url or None) and url[:500], created_at=now))
    db.session.flush()
    return None


def _recent_same(user_id: int, kind: str, contact_id: int, now: datetime) -> bool:
    return db.session.scalar(
        select(Alert.id).where(Alert.user_id == user_id, Alert.kind == kind, Alert.contact_id == contact_id,
                               Alert.created_at > now - REPEAT_WINDOW).limit(1)
    ) is not None


def alerts_after(user_id: int, after_id: int, limit: int = POLL_LIMIT) -> list[Alert]:
    """The user's alerts newer than ``after_id``, oldest first (what the poll returns)."""
    return list(db.session.scalars(
        select(Alert).where(Alert.user_id == user_id, Alert.id > after_id).order_by(Alert.id).limit(limit)
    ))


def latest_alert_id(user_id: int) -> int:
    return db.session.scalar(select(func.max(Alert.id)).where(Alert.user_id == user_id)) or 0


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Alert.id)).where(Alert.user_id == user_id, Alert.read_at.is_(None))) or 0


def list_alerts(user_id: int, *, unread_only: bool = False, page: int = 1, per_page: int = 50) -> Page:
    query = select(Alert).where(Alert.user_id == user_id)
    if unread_only:
        query = query.where(Alert.read_at.is_(None))
    # Newest first by when it happened (demo history and back-filled alerts are not written in time order).
    return paginate(query.order_by(Alert.created_at.desc(), Alert.id.desc()), page, per_page)


def mark_read(user_id: int, alert_id: int, now: datetime) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None or alert.user_id != user_id:
        raise NotFound(_("no such alert"))
    if alert.read_at is None:
        alert.read_at = now
    db.session.flush()
    return alert


def mark_all_read(user_id: int, now: datetime) -> int:
    # an UPDATE returns a CursorResult (Session.execute is typed as returning the plain Result)
    result = cast("CursorResult[Any]", db.session.execute(
        update(Alert).where(Alert.user_id == user_id, Alert.read_at.is_(None)).values(read_at=now)))
    db.session.flush()
    return result.rowcount or 0
