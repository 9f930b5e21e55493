"""A ``limits`` storage backed by the app's SQL database (PostgreSQL, or SQLite >= 3.35).

The store for the limits that must hold across web processes when there is no Redis
(``crm.extensions.CrmLimiter`` decides when). What it takes to be exact and cheap:

- **Atomic.** A hit is one statement, ``INSERT ... ON CONFLICT (key_hash) DO UPDATE ...
  RETURNING hits``: the database serialises hits on one key (PostgreSQL locks the row, SQLite
  has one writer), so every hit gets its own count back and two processes can never both see
  "9 of 10". A window that has ended starts again from the hit that finds it ended.
- **Its own connection, in autocommit.** Never the request's session: a request that rolls
  back must not take its hits with it, and a count must not wait for (or hold locks during)
  the request's transaction. Autocommit makes a hit one round trip (no BEGIN / COMMIT).
- **Cheap commits.** On PostgreSQL the connections run ``synchronous_commit=off``: a hit does
  not wait for its WAL flush, which would be most of its cost. A database-server crash may
  forget the last fraction of a second of hits; that only lets a few attempts more through,
  once.
- **One clock.** Windows are measured by the database server's clock, the one clock every
  web process (on every host) shares; tests pass ``clock`` to move time by hand.
- **Small.** Keys are stored as their SHA-256 (see ``RateLimitCounter``), and every
  ``SWEEP_EVERY`` hits a process deletes the windows that have ended, so keys seen once (an
  address, a mistyped account) do not pile up; the sweep keeps pace with the rate of new keys
  because it runs per hits, not per minute.

Only the fixed-window strategy (Flask-Limiter's default) is supported: it needs nothing but
``incr``/``get``/``get_expiry``.
"""
from __future__ import annotations

import hashlib
import itertools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from limits.storage import Storage
from sqlalchemy import Double, Engine, bindparam, case, cast, create_engine, delete, extract, func, make_url, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from crm.ratelimits.models import RateLimitCounter

COUNTERS = RateLimitCounter.__table__
_APP_ENGINE = "crm.ratelimits.engine"
_engine_lock = threading.Lock()


def counter_engine(database_url: str) -> Engine:
    """An engine of the counters' own on ``database_url``: autocommit, a small pool, no
    ``pool_pre_ping`` (a round trip per checkout, as much as the hit itself: a connection
    found dead is replaced and the hit sent again instead), nothing run when a connection goes
    back to the pool (in autocommit there is no transaction to end)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise ValueError(f"rate-limit counters in the database need PostgreSQL or SQLite, not {backend}")
    if backend == "postgresql":
        options = f"{url.query.get('options', '')} -c synchronous_commit=off".strip()
        url = url.update_query_dict({"options": options})
    elif url.database in (None, "", ":memory:"):
        # Another connection to an in-memory SQLite database is another, empty, database.
        raise ValueError("rate-limit counters in the database need a database file, not in-memory SQLite")
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8,
                         pool_recycle=1800, pool_reset_on_return=None)


def app_counter_engine() -> Engine:
    """The current app's counter engine, made on first use and kept on the app (each app of a
    process, e.g. in the tests, counts in its own database); disposed with the app."""
    app = current_app._get_current_object()
    engine = app.extensions.get(_APP_ENGINE)
    if engine is None:
        with _engine_lock:
            engine = app.extensions.get(_APP_ENGINE)
            if engine is None:
                engine = app.extensions[_APP_ENGINE] = counter_engine(app.config["SQLALCHEMY_DATABASE_URI"])
                weakref.finalize(app, engine.dispose)
    return engine


@dataclass(frozen=True)
class _Statements:
    incr: Any
    get: Any
    get_expiry: Any
    sweep: Any


def _statements(dialect: str, explicit_clock: bool) -> _Statements:
    """The storage's statements for one database kind, with "now" either the database
    server's clock or a ``:now`` parameter (a test's clock)."""
    if explicit_clock:
        now = bindparam("now", type_=Double())
    elif dialect == "postgresql":
        now = cast(extract("epoch", func.now()), Double())  # autocommit: the statement's start
    else:
        now = (func.julianday("now") - 2440587.5) * 86400.0  # SQLite: one value per statement
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    table = COUNTERS
    live = table.c.expires_at > now
    new = insert(table).values(key_hash=bindparam("key"), hits=bindparam("amount"),
                               expires_at=now + bindparam("expiry", type_=Double()))
    incr = new.on_conflict_do_update(
        index_elements=[table.c.key_hash],
        set_={
            "hits": case((live, table.c.hits + new.excluded.hits), else_=new.excluded.hits),
            "expires_at": case((live, table.c.expires_at), else_=new.excluded.expires_at),
        },
    ).returning(table.c.hits)
    this_key = table.c.key_hash == bindparam("key")
    return _Statements(
        incr=incr,
        get=select(table.c.hits).where(this_key, live),
        get_expiry=select(func.coalesce(select(table.c.expires_at).where(this_key, live).scalar_subquery(), now)),
        sweep=delete(table).where(table.c.expires_at <= now),
    )


_STATEMENTS = {(d, c): _statements(d, c) for d in ("postgresql", "sqlite") for c in (False, True)}


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class DatabaseStorage(Storage):
    """Rate-limit counters in table ``rate_limit_counters`` (see the module doc).

    ``engine``: where to count; by default the current Flask app's database, through an engine
    of the counters' own (``app_counter_engine``). ``clock``: seconds since the epoch, for
    tests; by default the database server's clock. ``RATELIMIT_STORAGE_URI=crm-database://``
    builds one with the defaults."""

    STORAGE_SCHEME = ["crm-database"]
    SWEEP_EVERY = 500

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *,
                 engine: Engine | None = None, clock: Callable[[], float] | None = None,
                 sweep_every: int | None = None, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._engine = engine
        self._clock = clock
        self._sweep_every = sweep_every or self.SWEEP_EVERY
        self._hits = itertools.count(1)  # next() is atomic under the GIL

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    @property
    def engine(self) -> Engine:
        return self._engine if self._engine is not None else app_counter_engine()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        hits = self._run("incr", {"key": _hash(key), "amount": amount, "expiry": float(expiry)},
                         lambda result: result.scalar_one())
        if next(self._hits) % self._sweep_every == 0:
            self.sweep()
        return hits

    def get(self, key: str) -> int:
        return self._run("get", {"key": _hash(key)}, lambda result: result.scalar()) or 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (now if it has none)."""
        return float(self._run("get_expiry", {"key": _hash(key)}, lambda result: result.scalar_one()))

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Forget every count. Outside an app context there is no app database to reset
        unless the storage was given an engine: then nothing happens (None)."""
        if self._engine is None and not has_app_context():
            return None
        return self._run(delete(COUNTERS), {}, _rowcount)

    def clear(self, key: str) -> None:
        self._run(delete(COUNTERS).where(COUNTERS.c.key_hash == bindparam("key")), {"key": _hash(key)}, _rowcount)

    def sweep(self) -> int:
        """Delete the windows that have ended; how many."""
        return self._run("sweep", {}, _rowcount)

    def _run(self, statement: str | Any, params: dict[str, Any], read: Callable[[Any], Any]) -> Any:
        """Run ``statement`` (a name from ``_Statements``, or a statement) on a connection of
        the counters' own and ``read`` its result there."""
        engine = self.engine
        if isinstance(statement, str):
            statement = getattr(_STATEMENTS[(engine.dialect.name, self._clock is not None)], statement)
        if self._clock is not None:
            params["now"] = float(self._clock())
        for attempt in (1, 2):
            try:
                with engine.connect() as connection:
                    return read(connection.execute(statement, params))
            except DBAPIError as exc:
                # A pooled connection that died (database restart) fails at once: the pool
                # throws it away and the hit goes once more on a fresh one. Had the server
                # counted it before dying, it counts twice: stricter by one, never looser.
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")


def _rowcount(result: Any) -> int:
    return result.rowcount
