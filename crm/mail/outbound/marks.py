"""The per-message ``sent`` mark of the send tick: the commit that keeps the one unavoidable
window (SMTP accepted, not yet recorded) to one message (see ``sender``'s docstring)."""
from __future__ import annotations

import selectors
import time
from datetime import datetime

from flask import current_app
from psycopg import pq
from sqlalchemy import bindparam, update

from crm.extensions import db
from crm.mail.models import OutboundEmail

_OUTBOX = OutboundEmail.__table__

_MARK_SENT = (
    update(_OUTBOX).where(_OUTBOX.c.id == bindparam("email_id"), _OUTBOX.c.status == "sending")
    .values(status="sent", sent_at=bindparam("sent_at"), last_error=None, attempts=bindparam("attempts"))
)


class MarkFailed(Exception):
    """The sent mark of the previous message could not be committed: stop before the next."""


class Marks:
    """The commit that closes the window (see ``sender``'s docstring): one UPDATE by primary
    key in autocommit, on a connection of its own, sent straight through the driver (the SQL
    is SQLAlchemy's own compilation of ``_MARK_SENT``, once per tick: its execution machinery
    around one small UPDATE cost as much CPU as the SMTP exchange).

    On PostgreSQL the mark is *sent* when SMTP accepts message N and its result read back in
    ``settle``, which the next message calls after the server's 354: the commit runs on the
    database server while message N+1's ``MAIL FROM``, ``RCPT TO`` and ``DATA`` go out, with
    no thread to wake and no lock to hand over. Elsewhere (SQLite: a commit is a write to
    the WAL file, no round trip) it is committed before ``submit`` returns.
    Either way no two accepted messages are ever unmarked at once. Remembers what it marked
    for ``record_sent``."""

    def __init__(self):
        self.ids: list[int] = []
        self._async_commit = bool(current_app.config.get("MAIL_ASYNC_COMMIT"))
        self._connection = None
        self._pending = False  # a mark sent whose result has not been read (PostgreSQL)
        self._broken = False  # a mark failed: the connection is thrown away, not pooled

    def submit(self, email, now: datetime) -> None:
        """Mark ``email`` sent (SMTP accepted it). MarkFailed when it cannot be."""
        self.settle()
        if self._connection is None:
            self._connection = self._open()
        email.attempts = (email.attempts or 0) + 1
        email.status, email.sent_at, email.last_error = "sent", now, None
        self.ids.append(email.id)
        try:
            self._write({"email_id": email.id, "sent_at": now, "attempts": email.attempts})
        except BaseException as exc:
            self._broken = True
            if isinstance(exc, Exception):  # whatever the driver raises, the batch stops
                raise MarkFailed(str(exc)) from exc
            raise

    def settle(self) -> None:
        """Wait until the last mark is committed; MarkFailed when it could not be."""
        if self._broken:
            raise MarkFailed("an earlier mark failed")
        if not self._pending:
            return
        try:
            _read_result(self._driver.pgconn)
        except BaseException as exc:
            self._broken = True  # a result may still be unread: never pool this connection
            if isinstance(exc, Exception):
                raise MarkFailed(str(exc)) from exc
            raise
        self._pending = False

    def close(self) -> None:
        """Settle and give the connection back. Raises MarkFailed like ``settle``; after a
        failure already raised, only throws the connection away."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if not self._broken:
                self.settle()
        finally:
            self._close(connection)

    def _write(self, params: dict) -> None:
        values = {**self._constants, **params, "sent_at": self._bind_sent_at(params["sent_at"])}
        if self._dialect.name == "postgresql":
            _send_query(self._driver.pgconn, self._sql, [_text_param(values[key]) for key in self._positions])
            self._pending = True
            return
        self._driver.execute(self._sql, tuple(values[key] for key in self._positions)
                             if self._positions else values)

    def _open(self):
        connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._dialect = dialect = connection.dialect
        if dialect.name == "postgresql" and self._async_commit:
            connection.exec_driver_sql("SET synchronous_commit = off")  # see the module docstring
        if dialect.name == "postgresql":  # libpq takes $1, $2... and values as text
            dialect = type(dialect)(paramstyle="numeric_dollar")
        compiled = _MARK_SENT.compile(dialect=dialect)
        self._sql = str(compiled).encode() if self._dialect.name == "postgresql" else str(compiled)
        self._positions = compiled.positiontup if compiled.positional else None
        self._constants = compiled.params  # the statement's literal values ('sent', 'sending', NULL)
        # The column type's full bind processing (UTC, then SQLite's own text format), as
        # SQLAlchemy would apply it.
        processor = _OUTBOX.c.sent_at.type.dialect_impl(self._dialect).bind_processor(self._dialect)
        self._bind_sent_at = processor or (lambda value: value)
        self._driver = connection.connection.driver_connection
        return connection

    def _close(self, connection) -> None:
        if self._broken:
            connection.invalidate()  # closes it; nothing is sent on it any more
            connection.close()
            return
        try:
            if self._dialect.name == "postgresql" and self._async_commit:
                connection.exec_driver_sql("RESET synchronous_commit")  # back to the pool clean
        finally:
            connection.close()


# A database that does not answer a one-row UPDATE in this long is down: the batch stops, and
# the claim timeout hands its rows to the next tick.
MARK_TIMEOUT_SECONDS = 30.0


def _text_param(value) -> bytes | None:
    return None if value is None else str(value).encode()


def _send_query(pgconn, sql: bytes, params: list[bytes | None]) -> None:
    """Send one statement (libpq, extended protocol with its own Sync) without waiting for it."""
    pgconn.send_query_params(sql, params)
    deadline = time.monotonic() + MARK_TIMEOUT_SECONDS
    while pgconn.flush():  # non-blocking (psycopg's way): wait, reading as libpq asks, and flush again
        if _wait(pgconn.socket, selectors.EVENT_READ | selectors.EVENT_WRITE, deadline) & selectors.EVENT_READ:
            pgconn.consume_input()


def _read_result(pgconn) -> None:
    """Wait for the statement sent by ``_send_query``: its commit is done once libpq has read
    the server's ReadyForQuery (``get_result`` gives None). Raises on an error result."""
    error = None
    deadline = time.monotonic() + MARK_TIMEOUT_SECONDS
    while True:
        pgconn.consume_input()
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                if error is not None:
                    raise RuntimeError(error)
                return
            if result.status != pq.ExecStatus.COMMAND_OK:
                error = (result.error_message or b"the mark failed").decode("utf-8", "replace").strip()
        _wait(pgconn.socket, selectors.EVENT_READ, deadline)


def _wait(fd: int, events: int, deadline: float) -> int:
    """Block until ``fd`` is ready for ``events``; TimeoutError at ``deadline``."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, events)
        ready = selector.select(max(deadline - time.monotonic(), 0))
    if not ready:
        raise TimeoutError(f"the database did not answer the sent mark within {MARK_TIMEOUT_SECONDS:.0f} s")
    return ready[0][1]
