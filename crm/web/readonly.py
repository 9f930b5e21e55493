"""HEAD never changes anything. Link checkers, mail security scanners and link previews send
HEAD to every link they find, and Flask answers HEAD with the GET view. The public links that
do something on GET are written for it (the unsubscribe page only confirms; a tracking pixel
or click records its hit on GET only). This guard is the net under every other view: during a
HEAD request the request's database session cannot commit. ``commit()`` only flushes, so the
view runs as it would (its reads see its own writes, its status and headers are GET's), and the
transaction is rolled back when the request ends (on SQLite it is begun explicitly, see
``_begin_on_sqlite``). Nothing touches the database before the view does: a HEAD during a
database outage is answered as its GET would be.

A view that commits on HEAD is logged (once per endpoint and process): it is a view to make
read-only, since its GET probably writes too. Writes outside the request's session (the
rate-limit counters, which are meant to count HEAD floods too) are not covered.
"""
from __future__ import annotations

import logging

from flask import Flask, g, has_request_context, request
from sqlalchemy import Engine, event

from crm.extensions import db

log = logging.getLogger(__name__)
_reported: set[str] = set()


def register(app: Flask) -> None:
    @app.before_request
    def head_is_read_only():
        if request.method == "HEAD":
            g.read_only_session = _refuse_commits(db.session(), request.endpoint or request.path)

    @app.teardown_request
    def end_read_only(_exc):
        session = g.pop("read_only_session", None)
        if session is None:
            return
        del session.commit  # the class's own commit again (a session may outlive the request)
        try:
            session.rollback()
        except Exception:  # noqa: BLE001 - a dead connection has nothing to roll back
            log.debug("rollback after HEAD failed", exc_info=True)


def _refuse_commits(session, endpoint: str):
    def commit() -> None:
        if endpoint not in _reported and (session.new or session.dirty or session.deleted or session.in_transaction()):
            _reported.add(endpoint)
            log.warning("HEAD %s tried to commit: rolled back (a GET view that writes?)", endpoint)
        session.flush()

    session.commit = commit
    return session


@event.listens_for(Engine, "begin")
def _begin_on_sqlite(connection) -> None:
    """SQLite's driver opens a transaction only before a write, so a savepoint taken before any
    write (``begin_nested``) *is* the transaction and releasing it commits. During a HEAD, an
    explicit BEGIN when a connection starts its transaction makes every savepoint nest inside a
    transaction that is rolled back. (PostgreSQL's driver begins before any first statement.)"""
    if connection.dialect.name != "sqlite" or not has_request_context() or request.method != "HEAD":
        return
    driver = connection.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN")
