"""Input limits every service applies, whatever the caller (page, API, CSV, CLI): ids and
integers that fit the database's columns, text without control characters (PostgreSQL refuses
NUL outright), numbers that stay finite once stored."""
from __future__ import annotations

from typing import Any

from crm.extensions import db

MAX_ID = 2**31 - 1  # INTEGER columns; past 2**63 SQLite cannot even bind the value
MAX_INT = 2**31 - 1
MAX_QUANTITY = 1e12
MAX_MONEY = 10**12  # Numeric(14, 2)
_ALLOWED_CONTROL = {"\t", "\n", "\r"}


def as_id(value: Any) -> int | None:
    """A record id, or None for junk, zero, negatives and numbers no column can hold."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def get_by_id(model, value: Any):
    record_id = as_id(value)
    return db.session.get(model, record_id) if record_id is not None else None


def has_control_chars(text: str) -> bool:
    return any(ord(ch) < 32 and ch not in _ALLOWED_CONTROL for ch in text) or "\x7f" in text
