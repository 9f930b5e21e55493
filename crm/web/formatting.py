"""Jinja filters and globals shared by the pages: times in the viewer's zone, money, dates,
activity labels, and the "may I edit this" check that decides which buttons to show.

Registered app-wide by ``register_template_helpers`` (called once by the contacts blueprint).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_login import current_user

from crm.policy import can_edit_owned
from crm.timeutil import is_valid_timezone, utcnow

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if is_valid_timezone(name) else ZoneInfo("UTC")


def viewer_zone_name() -> str:
    if current_user and getattr(current_user, "is_authenticated", False):
        return current_user.time_zone if is_valid_timezone(current_user.time_zone) else "UTC"
    return "UTC"


def local_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A stored UTC time shown in the viewing user's time zone."""
    if value is None:
        return ""
    return value.astimezone(_zone(viewer_zone_name())).strftime(fmt).lstrip("0")


def time_in_zone(zone_name: str | None, fmt: str = "%H:%M (%a)") -> str:
    """The current wall-clock time in a zone: "what time is it for this contact"."""
    return utcnow().astimezone(_zone(zone_name)).strftime(fmt)


def nice_date(value: date | str | None) -> str:
    """``1 May 2026``; ISO strings (as kept in deal history) are accepted too."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return f"{value.day} {value:%b %Y}"


def money(value: Decimal | int | float | None, currency: str | None = "EUR", cents: bool = True) -> str:
    if value is None:
        return ""
    text = f"{Decimal(value):,.2f}" if cents else f"{Decimal(value):,.0f}"
    symbol = CURRENCY_SYMBOLS.get((currency or "").upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency or ''}".strip()


def quantity(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def activity_label(kind: str) -> str:
    """How an activity kind reads on a timeline: each feature declares the kinds it writes
    (``timeline_labels`` in ``crm/features.py``); an undeclared kind still reads as words."""
    return current_app.extensions["crm_timeline_labels"].get(kind) or kind.replace("_", " ").capitalize()


# Detail keys carry their unit as a suffix (``duration_s``, ``duration_min``): shown without it.
UNIT_SUFFIXES = ("_s", "_min")
WORD_VALUES = ("outcome", "status", "result", "direction")


def detail_label(key: str) -> str:
    for suffix in UNIT_SUFFIXES:
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key.replace("_", " ").capitalize()


def detail_value(key: str, value) -> str:
    """One activity detail for people: seconds as ``16m 51s``, ``no_answer`` as ``No answer``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if key.endswith("_s"):
            minutes, seconds = divmod(int(value), 60)
            return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
        if key.endswith("_min"):
            return f"{value:g} min"
    if key in WORD_VALUES and isinstance(value, str):
        return value.replace("_", " ").capitalize()
    return str(value)


def custom_value(value) -> str:
    """A custom-field value for display (booleans as Yes/No, dates as written)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def can_edit(record) -> bool:
    """Whether the viewer may change ``record`` (owner, owner's manager, admin, or unowned).
    Uses the already-loaded owner, so it adds no query when lists join the owner in."""
    if not current_user.is_authenticated:
        return False
    owner = getattr(record, "owner", None)
    return can_edit_owned(current_user, getattr(record, "owner_id", None), owner.manager_id if owner else None)


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(local_datetime, "localtime")
    app.add_template_filter(nice_date, "nicedate")
    app.add_template_filter(money, "money")
    app.add_template_filter(quantity, "qty")
    app.add_template_filter(activity_label, "activity_label")
    app.add_template_filter(custom_value, "custom_value")
    app.add_template_filter(detail_label, "detail_label")
    app.add_template_global(detail_value, "detail_value")
    app.add_template_global(can_edit, "can_edit")
    app.add_template_global(time_in_zone, "time_in_zone")
    app.add_template_global(viewer_zone_name, "viewer_zone")

