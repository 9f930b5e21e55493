"""Extensions, created unbound and bound to the app in ``create_app``."""
from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
import sqlite3
import time

from limits.storage import MemoryStorage

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

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


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


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
