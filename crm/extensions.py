"""Extensions, created unbound and bound to the app in ``create_app``."""
from __future__ import annotations

import math
import sqlite3
import time

from flask import Flask, Response, g, has_request_context, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.util import get_remote_address
from flask_limiter.wrappers import Limit
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import RateLimiter
from sqlalchemy import MetaData, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from crm.textfold import SQLITE_FUNCTION, sqlite_fold

# Stable constraint names so Alembic migrations can drop/alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SweptMemoryStorage(MemoryStorage):
    """Rate-limit counters in process memory (``crm-memory://``, the default storage), as
    ``memory://`` but without its timer thread per hit.

    limits' ``MemoryStorage`` starts a new 10 ms ``threading.Timer`` on every hit that finds
    the previous timer finished: at a few hundred rate-limited requests a second, a thread
    start every 10 ms in each process, the request that starts it waiting for the new thread
    to be scheduled, and the timer then taking the GIL from requests. Measured on open pixels:
    about a tenth of their time on an idle machine, worse on a busy one. That timer only frees
    memory: ``get``, which ``incr`` calls first, already drops a counter whose window is over,
    so the counts are the same without it. Here the sweep runs inline, at most every
    ``SWEEP_SECONDS``. Fixed window (the default strategy) and sliding window count through
    ``incr``/``decr`` and behave exactly as with ``memory://``; moving window keeps the
    parent's timer."""

    STORAGE_SCHEME = ["crm-memory"]
    SWEEP_SECONDS = 5.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        if now >= self._next_sweep:
            self.sweep(now)
        self.get(key)  # a counter whose window is over starts again from zero
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = now + expiry
        return self.storage.get(key, 0)

    def decr(self, key: str, amount: int = 1) -> int:
        self.get(key)
        with self.locks[key]:
            self.storage[key] = max(self.storage[key] - amount, 0)
        return self.storage.get(key, 0)

    def sweep(self, now: float) -> None:
        """Forget every counter whose window is over (memory only: see the class doc)."""
        self._next_sweep = now + self.SWEEP_SECONDS
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)


class CrmLimiter(Limiter):
    """Flask-Limiter, counting each limit where it needs to be counted, and saying when to
    come back.

    Where (``crm/ratelimits/__init__.py`` has the why):

    - the limits of the blueprints in ``RATELIMIT_IN_PROCESS_BLUEPRINTS`` (the tracking pixel,
      click and page-view limits) always count in process memory;
    - every other limit counts in the store ``RATELIMIT_STORAGE_URI`` names when that store is
      shared (``redis://...``; ``crm-database://``: the app's database); when it names process
      memory (``crm-memory://``, the default), in the app's database if that is PostgreSQL (a
      PostgreSQL deployment runs several web processes), else in memory (SQLite's embedded
      default, one process).

    ``limiter.storage`` stays the store ``RATELIMIT_STORAGE_URI`` names; ``shared_storage`` is
    the store of the limits that must hold across processes. The choice is made per request,
    by its blueprint, in ``limiter`` (the strategy Flask-Limiter asks for each check).

    When: every 429 carries ``Retry-After``, the seconds until the broken limit's window ends,
    on pages and API alike (an ``after_request`` hook, so whichever error handler rendered the
    429 does not need to know)."""

    DEFAULT_RETRY_AFTER = 60  # for a 429 raised outside the limiter (there is none today)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._in_process: RateLimiter | None = None
        self._shared: RateLimiter | None = None
        self._in_process_blueprints: frozenset[str] = frozenset()
        self._blueprint_in_process: dict[str | None, bool] = {}

    def init_app(self, app: Flask) -> None:
        from crm.ratelimits.storage import DatabaseStorage  # registers crm-database:// (its model needs db)

        super().init_app(app)
        if not self.enabled:
            return
        configured = self._limiter  # the strategy over the store RATELIMIT_STORAGE_URI names
        strategy = type(configured)
        if isinstance(self.storage, MemoryStorage):
            self._in_process = configured
            on_postgresql = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "postgresql"
            self._shared = strategy(DatabaseStorage()) if on_postgresql else configured
        else:
            self._in_process = strategy(SweptMemoryStorage())
            self._shared = configured
        self._in_process_blueprints = frozenset(app.config.get("RATELIMIT_IN_PROCESS_BLUEPRINTS", ()))
        self._blueprint_in_process = {}
        if not app.extensions.get("crm.retry_after"):
            app.extensions["crm.retry_after"] = True
            app.after_request(self._add_retry_after)

    @property
    def limiter(self) -> RateLimiter:
        configured = super().limiter
        if self._shared is None or configured is not self._limiter:
            return configured  # not bound to an app yet, or Flask-Limiter's fallback is on
        if has_request_context() and self._counts_in_process(request.blueprint):
            return self._in_process
        return self._shared

    @property
    def shared_storage(self):
        """The store of every limit but the in-process ones."""
        return self._shared.storage if self._shared is not None else self.storage

    def _counts_in_process(self, blueprint: str | None) -> bool:
        known = self._blueprint_in_process.get(blueprint)
        if known is None:
            names = blueprint.split(".") if blueprint else []
            known = self._blueprint_in_process[blueprint] = any(name in self._in_process_blueprints for name in names)
        return known

    def reset(self) -> None:
        """Forget every count: in process memory and in the shared store (the app database's
        counters only inside an app context: see ``DatabaseStorage.reset``)."""
        if not self.initialized:
            return
        stores = {id(s): s for s in (self.storage, *(x.storage for x in (self._in_process, self._shared) if x))}
        for store in stores.values():
            store.reset()

    def hit_or_refuse(self, limit_value: str, key: str, scope: str) -> None:
        """Count one hit of each limit in ``limit_value`` (e.g. "10 per minute;50 per hour")
        for ``key`` and, past any of them, refuse the request: ``RateLimitExceeded`` (429,
        with ``Retry-After``), as a decorated limit would. For limits that depend on what a
        request turns out to be (a failed API authentication), which no decorator can know
        beforehand. Counted in the shared store, exactly."""
        if not (self.enabled and self.initialized):
            return
        for item in sorted(parse_many(limit_value)):
            args = [self._key_prefix, key, scope] if self._key_prefix else [key, scope]
            if not self.limiter.hit(item, *args):
                self.context.view_rate_limit = RequestLimit(self, item, args, True, False)
                raise RateLimitExceeded(Limit(item, lambda: key, scope))

    def retry_after(self) -> int:
        """Seconds until the limit this request broke lets requests through again (at least
        1; computed once per request)."""
        seconds = g.get("_retry_after")
        if seconds is None:
            broken = self.current_limit if self.initialized else None
            if broken is None or not broken.breached:
                seconds = self.DEFAULT_RETRY_AFTER
            else:
                # Real elapsed time, as the counters' windows (Flask-Limiter does the same; the
                # database's counters end by the database server's clock, this host's peer).
                seconds = max(1, math.ceil(broken.window.reset_time - time.time()))
            g._retry_after = seconds
        return seconds

    def _add_retry_after(self, response: Response) -> Response:
        if response.status_code == 429 and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(self.retry_after())
        return response


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = CrmLimiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite ignores foreign keys unless asked, and readers block the writer without WAL
    (the worker and the web process share the file). ``synchronous=NORMAL`` is the standard
    WAL setting: a commit is written to the WAL (safe against any process crash, SIGKILL
    included) and fsynced at checkpoints, so only a power loss or OS crash can undo the last
    commits. FULL fsyncs every commit, which made each sent email's commit cost more than
    sending it."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # Accent- and case-insensitive search (``crm.textfold.folded``) calls back into Python.
        dbapi_connection.create_function(SQLITE_FUNCTION, 1, sqlite_fold, deterministic=True)
