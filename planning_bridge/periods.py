"""Months as ``"YYYY-MM"`` strings and as integer indexes (year * 12 + month - 1), which make
month arithmetic plain integer arithmetic, also on numpy arrays of dates."""
from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, timedelta

import numpy as np

PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")
DEFAULT_HORIZON = 18
MAX_HORIZON = 120


def parse_period(text: str) -> int | None:
    """The month index of a ``YYYY-MM`` string, or None when it is not a real month."""
    match = PERIOD_RE.match((text or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        return None
    return year * 12 + month - 1


def period_index(text: str) -> int:
    """The month index of a ``YYYY-MM`` string known to be one (stored, or checked already):
    ``ValueError`` if it is not."""
    index = parse_period(text)
    if index is None:
        raise ValueError(f"not a month written YYYY-MM: {text!r}")
    return index


def period_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def first_day(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def last_day(index: int) -> date:
    year, month = index // 12, index % 12 + 1
    return date(year, month, monthrange(year, month)[1])


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def completed_through(as_of: date) -> int:
    """The last month fully past at the end of ``as_of``: its own month on its last day,
    else the month before."""
    index = month_index(as_of)
    return index if is_month_end(as_of) else index - 1


def month_indexes(days: np.ndarray) -> np.ndarray:
    """Month indexes of a ``datetime64[D]`` array."""
    months = days.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return months + 1970 * 12


def periods_between(start: int, end: int) -> list[int]:
    return list(range(start, end + 1))


def default_range(today: date, horizon: int = DEFAULT_HORIZON) -> tuple[str, str]:
    start = month_index(today)
    return period_text(start), period_text(start + horizon - 1)


def resolve_range(start: str | None, end: str | None, today: date,
                  horizon: int = DEFAULT_HORIZON) -> tuple[str, str]:
    """``start``..``end`` with defaults: ``today``'s month, and ``horizon`` months from ``start``.
    A malformed ``start`` is passed through for the service to name."""
    first = parse_period(start) if start else month_index(today)
    if first is None:
        return start or "", end or start or ""
    return period_text(first), end or period_text(first + horizon - 1)
