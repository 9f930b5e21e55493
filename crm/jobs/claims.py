"""Claiming queued work in the database, for every table of queued work (background jobs,
imports): the oldest claimable row is marked running by exactly one worker, and a row whose
worker died (no heartbeat for ``stale_after``) is claimable again.

One implementation for all such tables, since the concurrency rules are the subtle part:
``FOR UPDATE SKIP LOCKED`` on PostgreSQL; elsewhere (SQLite, one process) a conditional UPDATE
that only wins if nobody changed the row's status and heartbeat since it was read.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import and_, func, or_, select, update

from crm.extensions import db


def claimable(model: Any, now: datetime, stale_after: timedelta):
    return or_(
        model.status == "queued",
        and_(model.status == "running", model.heartbeat_at < now - stale_after),
    )


def claim_oldest(model: Any, now: datetime, stale_after: timedelta) -> Any | None:
    """Mark the oldest claimable row of ``model`` running (one more attempt, where the table
    counts them) and return it; the caller commits at once so other workers see the claim.
    ``model`` has ``id``, ``status``, ``heartbeat_at``, ``started_at``, ``created_at``."""
    counts_attempts = hasattr(model, "attempts")
    oldest_first = (model.created_at, model.id)
    if db.engine.dialect.name == "postgresql":
        row = db.session.scalar(
            select(model).where(claimable(model, now, stale_after))
            .order_by(*oldest_first).limit(1).with_for_update(skip_locked=True)
        )
        if row is None:
            return None
        row.status, row.heartbeat_at = "running", now
        row.started_at = row.started_at or now
        if counts_attempts:
            row.attempts += 1
        db.session.flush()
        return row
    candidates = db.session.execute(
        select(model.id, model.status, model.heartbeat_at).where(claimable(model, now, stale_after))
        .order_by(*oldest_first).limit(10)
    ).all()
    for row_id, status, heartbeat in candidates:
        unchanged = model.heartbeat_at.is_(None) if heartbeat is None else model.heartbeat_at == heartbeat
        values: dict[str, Any] = {"status": "running", "heartbeat_at": now,
                                  "started_at": func.coalesce(model.started_at, now)}
        if counts_attempts:
            values["attempts"] = model.attempts + 1
        claimed = db.session.execute(
            update(model).where(model.id == row_id, model.status == status, unchanged)
            .values(**values).execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            row = db.session.get(model, row_id)
            db.session.refresh(row)
            return row
    return None


def clock_from(now: datetime) -> Callable[[], datetime]:
    """``now`` moved forward by the real time elapsed: heartbeats keep up with a long run
    while a fixed ``now`` keeps tests deterministic."""
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)
