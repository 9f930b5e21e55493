"""What one web request may spend in the database (issue #19: expensive requests tied up
workers until gunicorn killed them).

On PostgreSQL every transaction a web request opens starts with ``SET LOCAL
statement_timeout``: the request's budget, ``REQUEST_STATEMENT_TIMEOUT_MS`` (0 disables),
less what the request has already spent since it started, so a request running several
transactions cannot add their timeouts up (at least 1 ms is left: the next statement that
needs time is cancelled). ``SET LOCAL`` ends with its transaction, so nothing outlives the
request on a pooled connection.

Only web requests (``flask.has_request_context()``): the worker's jobs, CLI commands and the
scheduler run outside a request and are never limited; their long work is the reason they
exist (bulk enrollment, recomputing scores, imports).

A statement PostgreSQL cancels (SQLSTATE 57014, ``query_canceled``) is answered 503 with
``Retry-After`` by ``crm.web.errors`` (JSON under /api, a page elsewhere), after rolling
the session back: never a 500. SQLite has no statement timeout; there the bounds on every
range a request may ask for (``crm.api.bounds``, the planning API's schemas) and moving
large work to the worker (``crm.jobs``) are what keep requests short.
"""
from __future__ import annotations

import time

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import event

from crm.extensions import db

QUERY_CANCELED = "57014"
RETRY_AFTER_SECONDS = 30
DEFAULT_TIMEOUT_MS = 10_000


def init_app(app: Flask) -> None:
    app.config.setdefault("REQUEST_STATEMENT_TIMEOUT_MS", DEFAULT_TIMEOUT_MS)
    # First of the before_request hooks: authentication already reads the database.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request_clock)
    if not event.contains(db.session, "after_begin", limit_request_transaction):
        event.listen(db.session, "after_begin", limit_request_transaction)


def _start_request_clock() -> None:
    g.setdefault("db_budget_started", time.monotonic())


def request_timeout_ms() -> int:
    """The configured budget of one request, in milliseconds (0: none)."""
    return max(0, int(current_app.config.get("REQUEST_STATEMENT_TIMEOUT_MS") or 0))


def remaining_ms() -> int:
    """What is left of this request's budget (at least 1 ms); 0 when there is no budget."""
    budget = request_timeout_ms()
    if not budget:
        return 0
    started = g.setdefault("db_budget_started", time.monotonic())
    spent = round((time.monotonic() - started) * 1000)
    return max(1, budget - spent)


def limit_request_transaction(_session, _transaction, connection) -> None:
    """Session ``after_begin``: limit the transaction a web request just opened."""
    if not has_request_context() or connection.dialect.name != "postgresql":
        return
    timeout = remaining_ms()
    if timeout:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout)}")


def is_statement_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` (a SQLAlchemy error) is PostgreSQL cancelling a statement."""
    original = getattr(exc, "orig", None)
    return getattr(original, "sqlstate", None) == QUERY_CANCELED


def timeout_message() -> str:
    seconds = request_timeout_ms() / 1000
    return (f"The request needed more than the {seconds:g} s of database time a request may use, and was "
            "stopped; its unfinished changes were undone. Try again later, or ask for less at once "
            "(a shorter range, fewer records).")
