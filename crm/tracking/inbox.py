"""The intake queue between the public endpoints and the event logic.

Accepting a hit is one statement: ``INSERT INTO tracking_inbox ... SELECT ... FROM
tracking_links WHERE token = :token`` for pixels and clicks (no row inserted: unknown token,
answered 404; a click gets its destination back with ``RETURNING``), a plain multi-row INSERT
for page views validated in Python. ``process_inbox`` later claims rows in id order (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take the same row), turns each into a
``TrackingEvent`` through ``crm.tracking.events.store_event`` (verdict, timeline, score,
alert) and deletes it in the same transaction.
"""
from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import Engine, String, bindparam, create_engine, delete, insert, select

from crm.contacts.models import Contact
from crm.extensions import db
from crm.timeutil import UTCDateTime
from crm.tracking import ipranges
from crm.tracking.email import TOKEN_RE, contact_from_stitch_token, is_trackable_url
from crm.tracking.events import RequestFacts, is_hot_page, outbound_email, store_event
from crm.tracking.models import TrackingEvent, TrackingInbox, TrackingLink
from crm.tracking.visitors import find_or_create_visitor, identify, page_path

log = logging.getLogger(__name__)

BATCH = 500


def _clip(value: str | None, limit: int) -> str | None:
    return (value or "")[:limit] or None


@dataclass(frozen=True)
class _Intake:
    """PostgreSQL: the intake engine and its two statements as driver SQL, compiled once."""
    engine: Engine
    link_hit_sql: str
    view_sql: str


def intake_engine() -> Engine | None:
    """PostgreSQL: a small engine of our own for appending hits, in autocommit (no BEGIN /
    COMMIT round trips) and, with ``TRACKING_ASYNC_COMMIT``, ``synchronous_commit=off``: the
    commit does not wait for its WAL flush, which is most of what an intake request costs.
    The trade: a *database server* crash may forget the last fraction of a second of hits (it
    never corrupts anything); application crashes lose nothing. None on SQLite (one writer:
    the app's session does)."""
    intake = _intake()
    return intake.engine if intake is not None else None


def _intake() -> _Intake | None:
    """The app's intake (built on first use; kept on the app, so a request finds it with two
    dictionary lookups), None on SQLite."""
    app = current_app._get_current_object()
    relaxed = bool(app.config.get("TRACKING_ASYNC_COMMIT", True))
    per_app = app.extensions.setdefault("crm.tracking.intake", {})
    if relaxed not in per_app:
        intake = per_app[relaxed] = _new_intake(relaxed)
        if intake is not None:  # close its pooled connections with the app, not by garbage
            weakref.finalize(app, intake.engine.dispose)
    return per_app[relaxed]


def _new_intake(relaxed: bool) -> _Intake | None:
    if db.engine.dialect.name != "postgresql":
        return None
    url = db.engine.url
    options = url.query.get("options", "")
    if relaxed:
        options = f"{options} -c synchronous_commit=off".strip()
    # No pool_pre_ping (a SELECT 1 round trip per checkout, as much as the INSERT itself):
    # a connection found dead is invalidated and the hit retried once (``_execute``). No
    # rollback when a connection goes back to the pool either: in autocommit there is never
    # a transaction to end, and the pool's reset call was a tenth of the intake's own CPU.
    engine = create_engine(url.update_query_dict({"options": options}) if options else url,
                           isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=8, pool_recycle=1800,
                           pool_reset_on_return=None)
    dialect = engine.dialect
    return _Intake(engine, str(_link_hit_statement().compile(dialect=dialect)),
                   str(insert(TrackingInbox).inline().compile(dialect=dialect, column_keys=list(VIEW_COLUMNS))))


def _execute(intake: _Intake, sql: str, rows: list[dict[str, Any]], *, returning: bool) -> list[tuple]:
    """Run ``sql`` on a pooled intake connection straight through the driver (psycopg).
    SQLAlchemy's execution around it (connection wrapper, execution context, compiled-cache
    lookup, bind processors, result wrapping) was about 80 µs of CPU per hit, a fifth of an
    open pixel. The SQL is SQLAlchemy's own compilation of the statements below, so the two
    paths cannot drift apart, and the parameters are already what the driver takes (str,
    aware UTC datetime). psycopg prepares the statement on the server after a few executions
    on a connection. A batch of page views is one pipeline: one round trip, one transaction.

    A connection that died in the pool (database restart) fails at once: it is thrown away
    and the hit is sent once more on a fresh one. If the server died after storing the row
    but before answering, the hit is queued twice; the second copy gets the ``duplicate``
    verdict (same kind, target, address and user agent within 60 s): nothing counts twice."""
    for attempt in (1, 2):
        connection = intake.engine.raw_connection()
        try:
            with connection.driver_connection.cursor() as cursor:
                if len(rows) == 1:
                    cursor.execute(sql, rows[0])
                else:
                    cursor.executemany(sql, rows)
                return cursor.fetchall() if returning else []
        except intake.engine.dialect.loaded_dbapi.OperationalError:
            connection.invalidate()
            if attempt == 2:
                raise
        finally:
            connection.close()
    raise AssertionError("unreachable")


def end_intake(commit: bool) -> None:
    """End a request's intake. SQLite: the hit joined the request's session; commit it or roll
    it back (a refused hit). PostgreSQL: the INSERT has already committed on the intake
    connection and the session was never opened; ``db.session.commit()`` would only create an
    empty Session to commit and close it again (about 5% of an open pixel's time), so it is
    skipped."""
    if uses_session():
        if commit:
            db.session.commit()
        else:
            db.session.rollback()


def forget_failed_transaction() -> None:
    """Roll the request's session back after the database went out of reach; rolling back a
    connection that is already gone may fail too, which changes nothing."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the connection is gone; the session is reset anyway)
        log.debug("rollback after a database outage failed", exc_info=True)


def uses_session() -> bool:
    """True when queued hits join the request's database session (SQLite), so the caller
    commits or rolls back; False on PostgreSQL, where the intake connection has already
    committed and the request never opened a session at all (nothing to end)."""
    return _intake() is None


@lru_cache(maxsize=1)
def _link_hit_statement():
    """Built once with bound parameters, so SQLAlchemy compiles it once per process."""
    source = select(
        bindparam("kind", type_=String()), bindparam("received_at", type_=UTCDateTime()),
        TrackingLink.id, TrackingLink.contact_id, TrackingLink.url, bindparam("ip", type_=String()),
        bindparam("user_agent", type_=String()), bindparam("method", type_=String()),
    ).where(TrackingLink.token == bindparam("token"), TrackingLink.kind == bindparam("link_kind"))
    return insert(TrackingInbox).from_select(
        ["kind", "received_at", "link_id", "contact_id", "url", "ip", "user_agent", "method"], source,
    ).returning(TrackingInbox.url, TrackingInbox.contact_id)


VIEW_COLUMNS = ("kind", "received_at", "visitor", "pc", "url", "title", "referrer", "ip", "user_agent", "method")


def accept_link_hit(kind: str, token: str, request: RequestFacts, now: datetime):
    """Queue an open (``kind='open'``) or click; returns ``(url, contact_id)`` of the link
    (url "" for a pixel), or None when no such token exists (nothing queued). One statement;
    on SQLite it joins the session's transaction (the caller commits, see ``uses_session``)."""
    if not token or not TOKEN_RE.match(token):
        return None
    params = {"kind": kind, "received_at": now, "ip": _clip(request.ip, 45),
              "user_agent": _clip(request.user_agent, 512), "method": request.method.upper()[:8],
              "token": token, "link_kind": "open" if kind == "open" else "click"}
    intake = _intake()
    if intake is not None:
        rows = _execute(intake, intake.link_hit_sql, [params], returning=True)
    else:  # Core execution inside the session's transaction (not ORM bulk mode)
        rows = db.session.connection().execute(_link_hit_statement(), params).all()
    if not rows:
        return None
    return rows[0][0] or "", rows[0][1]


def peek_link(kind: str, token: str, request: RequestFacts, now: datetime):
    """What ``accept_link_hit`` answers, without queueing anything: for HEAD, which must never
    change anything (link checkers and mail scanners send it; a human's client GETs)."""
    if not token or not TOKEN_RE.match(token):
        return None
    row = db.session.execute(
        select(TrackingLink.url, TrackingLink.contact_id)
        .where(TrackingLink.token == token, TrackingLink.kind == ("open" if kind == "open" else "click"))).first()
    return (row[0] or "", row[1]) if row else None


def accept_views(views: list[dict[str, Any]], *, visitor: str, pc: str | None, request: RequestFacts,
                 now: datetime) -> int:
    """Queue validated page views (dicts with url, title, referrer) of one visitor."""
    if not views:
        return 0
    ip, user_agent, method = _clip(request.ip, 45), _clip(request.user_agent, 512), request.method.upper()[:8]
    rows = [{"kind": "view", "received_at": now, "visitor": visitor, "pc": _clip(pc, 200),
             "url": v["url"], "title": v.get("title"), "referrer": v.get("referrer"),
             "ip": ip, "user_agent": user_agent, "method": method} for v in views]
    intake = _intake()
    if intake is not None:
        _execute(intake, intake.view_sql, rows, returning=False)
    else:
        db.session.connection().execute(insert(TrackingInbox), rows)
    return len(rows)


# --- processing ---------------------------------------------------------------------------------

def claim(limit: int) -> list:
    """Take the oldest ``limit`` rows by deleting them (``DELETE ... RETURNING``): the delete
    is undone if the transaction fails, so nothing is lost, and two processors never take the
    same row (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the delete holds the write lock)."""
    oldest = select(TrackingInbox.id).order_by(TrackingInbox.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    rows = db.session.execute(
        delete(TrackingInbox).where(TrackingInbox.id.in_(oldest.scalar_subquery()))
        .returning(*TrackingInbox.__table__.columns)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(rows, key=lambda row: row.id)


def process_inbox(limit: int = BATCH) -> int:
    """Turn queued hits into events, oldest first. Returns how many were processed. Flushes;
    the caller commits (the claim and the events go together)."""
    rows = claim(limit)
    if not rows:
        return 0
    links = {link.id: link for link in db.session.scalars(
        select(TrackingLink).where(TrackingLink.id.in_({r.link_id for r in rows if r.link_id}))).all()}
    for row in rows:
        _process(row, links)
    db.session.flush()
    return len(rows)


def _process_one_by_one(limit: int) -> int:
    """After a failed batch (PostgreSQL): each row in its own savepoint, so one poisoned row
    is logged and dropped instead of blocking the queue forever."""
    rows = claim(limit)
    links = {link.id: link for link in db.session.scalars(
        select(TrackingLink).where(TrackingLink.id.in_({r.link_id for r in rows if r.link_id}))).all()}
    for row in rows:
        try:
            with db.session.begin_nested():
                _process(row, links)
        except Exception:
            log.exception("tracking inbox row %s dropped", row.id)
    db.session.flush()
    return len(rows)


def _process(row: TrackingInbox, links: dict[int, TrackingLink]) -> None:
    facts = RequestFacts(ip=row.ip, user_agent=row.user_agent, method=row.method)
    if row.kind == "view":
        _page_view(row, facts)
        return
    link = links.get(row.link_id)
    if link is None:  # its contact (and so the link) was deleted since
        return
    if row.kind == "click" and not is_trackable_url(link.url or ""):
        return
    email = outbound_email(link.outbound_email_id)
    subject = getattr(email, "subject", None)
    event = TrackingEvent(
        kind="email_opened" if row.kind == "open" else "email_clicked", occurred_at=row.received_at,
        contact_id=link.contact_id, outbound_email_id=link.outbound_email_id, link_id=link.id,
        url=link.url, label=f"'{subject}'" if subject else None, ip=facts.ip, user_agent=facts.user_agent,
        method=facts.method,
    )
    store_event(event, delivered=getattr(email, "sent_at", None), subject=subject)


def _page_view(row: TrackingInbox, facts: RequestFacts) -> None:
    visitor = find_or_create_visitor(row.visitor, row.received_at)
    company = ipranges.lookup(row.ip)
    store_event(TrackingEvent(
        kind="page_viewed", occurred_at=row.received_at, visitor_id=visitor.id, contact_id=visitor.contact_id,
        url=row.url, title=row.title, referrer=row.referrer, label=page_path(row.url),
        high_value=is_hot_page(row.url), ip=facts.ip, user_agent=facts.user_agent, method=facts.method,
        company_name=company.company_name if company else None, company_domain=company.domain if company else None,
    ))
    contact_id = contact_from_stitch_token(row.pc)
    contact = db.session.get(Contact, contact_id) if contact_id else None
    if contact is not None:
        identify(visitor, contact, "email_click", row.received_at)


def process_all(limit_batches: int = 1000) -> int:
    """Process and commit batch after batch until the queue is empty (the worker job)."""
    total = 0
    for _ in range(limit_batches):
        try:
            done = process_inbox()
            db.session.commit()
        except Exception:
            db.session.rollback()
            if db.engine.dialect.name != "postgresql":  # pysqlite's savepoints are unreliable
                raise
            log.exception("tracking inbox batch failed; retrying row by row")
            done = _process_one_by_one(BATCH)
            db.session.commit()
        total += done
        if done < BATCH:
            break
    return total
