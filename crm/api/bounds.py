"""Bounds on the dates and moments the API accepts, relative to today (``crm.timeutil``).

No request may make the server's work grow with a range the caller chooses (issue #19): a
date ten thousand years ahead or at year 1 is refused (422, naming the field) before any
work, instead of being computed (or overflowing date arithmetic into a 500).

- ``RecordDay``: a date stored on a record or read for one day (a deal's expected close or
  close date, a time block's dates, the call queue's day): within ``RECORD_YEARS`` of today.
- ``within_days(past, future)``: a date at most ``past`` days before and ``future`` days after
  today; ``moment_within_days``: the same for a moment with its time zone.
- ``check_day``: the same rule for callers outside pydantic (a page reading ``?date=``), so a
  page and the API never disagree on which days may be asked for.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

from crm.i18n import _
from crm.timeutil import utcnow

RECORD_YEARS = 20
RECORD_DAYS = RECORD_YEARS * 365 + RECORD_YEARS // 4  # 20 calendar years, leap days included


def _check_day(value: date, past: int, future: int) -> date:
    today = utcnow().date()
    first, last = today - timedelta(days=past), today + timedelta(days=future)
    if not first <= value <= last:
        raise ValueError(_("must be between %(first)s and %(last)s", first=first.isoformat(), last=last.isoformat()))
    return value


def check_day(value: date, past: int = RECORD_DAYS, future: int = RECORD_DAYS) -> date:
    """``value`` when it lies within [today - ``past`` days, today + ``future`` days] (by default
    ``RecordDay``'s range), else ``ValueError`` saying which days may be asked for."""
    return _check_day(value, past, future)


def within_days(past: int, future: int):
    """A ``date`` type refused outside [today - ``past`` days, today + ``future`` days]."""
    return Annotated[date, AfterValidator(lambda value: _check_day(value, past, future))]


def _check_moment(value: datetime, past: int, future: int) -> datetime:
    if value.tzinfo is None:  # said by the service (or the type) in its own words
        return value
    now = utcnow()
    first, last = now - timedelta(days=past), now + timedelta(days=future)
    if not first <= value <= last:
        raise ValueError(_("must be between %(first)s and %(last)s", first=first.isoformat(timespec="minutes"),
                           last=last.isoformat(timespec="minutes")))
    return value


def moment_within_days(past: int, future: int, base: type = datetime):
    """A ``datetime`` (or ``base``, e.g. pydantic's ``AwareDatetime``) refused outside
    [now - ``past`` days, now + ``future`` days]; naive values pass through to the routes,
    which refuse them with their own message."""
    return Annotated[base, AfterValidator(lambda value: _check_moment(value, past, future))]


RecordDay = within_days(RECORD_DAYS, RECORD_DAYS)
