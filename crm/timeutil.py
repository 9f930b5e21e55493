"""Time helpers: everything is stored in UTC, timezone-aware, and every "now" comes from one clock.

``utcnow()`` is the only way the app asks what time it is: request handlers, API endpoints,
scheduler jobs, CLI commands and model defaults all call it (services take ``now`` as an
argument and never ask). It reads ``CLOCK``, which follows the system clock unless frozen.
Tests freeze it once (the ``clock`` fixture in ``tests/conftest.py``) and so every thread of
the process, the live browser-test server and the in-process workers included, sees the same
moment. The clock is process-wide on purpose: a context variable would not reach the threads
a request or a worker starts.
"""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import available_timezones

from sqlalchemy import DateTime, TypeDecorator


class Clock:
    """The system clock, or a frozen moment that only moves when told to."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        frozen = self._frozen
        return frozen if frozen is not None else datetime.now(timezone.utc)

    @property
    def is_frozen(self) -> bool:
        return self._frozen is not None

    def freeze(self, moment: datetime) -> datetime:
        """Stop the clock at ``moment`` (timezone-aware; kept in UTC)."""
        if moment.tzinfo is None:
            raise ValueError("freeze the clock at a timezone-aware moment")
        with self._lock:
            self._frozen = moment.astimezone(timezone.utc)
        return self._frozen

    def advance(self, delta: timedelta) -> datetime:
        """Move a frozen clock forward (or back, with a negative delta)."""
        with self._lock:
            if self._frozen is None:
                raise RuntimeError("only a frozen clock can be advanced")
            self._frozen = self._frozen + delta
            return self._frozen

    def unfreeze(self) -> None:
        with self._lock:
            self._frozen = None


CLOCK = Clock()


def utcnow() -> datetime:
    """Now, in UTC, from the app's one clock."""
    return CLOCK.now()


def utc_today() -> date:
    return CLOCK.now().date()


# Files the system's zoneinfo directory holds that are not IANA zone names: "localtime" is a
# link to the machine's own zone (whatever the server happens to be set to), "posixrules" a
# default-rules file, "Factory" the "local time zone must be set" placeholder zone.
_NOT_ZONE_NAMES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _iana_zone_names() -> frozenset[str]:
    """The IANA names this machine knows, read once: ``available_timezones()`` walks the whole
    zoneinfo tree (milliseconds per call), and the list only changes with a tzdata upgrade,
    which comes with a restart."""
    return frozenset(available_timezones() - _NOT_ZONE_NAMES) | {"UTC"}


def is_valid_timezone(name: str | None) -> bool:
    """An IANA zone name (``Europe/Berlin``, ``America/Argentina/Buenos_Aires``) or ``UTC``,
    the one check for every zone the app accepts (users, contacts, blocks, booking links,
    visitors). A set lookup, not ``ZoneInfo(name)``: ZoneInfo also opens any file under the
    zoneinfo directories, so "localtime" (the server's own zone), "posixrules", "Factory",
    "posix/..." and "right/..." copies would pass, and each odd name would be a file lookup."""
    return isinstance(name, str) and name in _iana_zone_names()


def all_timezones() -> list[str]:
    """The zones offered in pickers: exactly those ``is_valid_timezone`` accepts."""
    return sorted(_iana_zone_names())


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite has no time zone type; without this, values read back naive on SQLite and aware
    on PostgreSQL, and comparisons between them fail at run time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware UTC values")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
