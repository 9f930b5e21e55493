"""Jinja filters and globals shared by the pages: times in the viewer's zone, money, numbers and
dates in the viewer's locale (Babel/CLDR, issue #17), activity labels, and the "may I edit
this" check that decides which buttons to show.

Every page formats through these helpers, never ``strftime`` or ``f"{x:,.2f}"``: a Spanish
reader in Monterrey gets "lunes, 7 de diciembre de 2026", "9:04 a.m. CST" and
"$2,500,000.00 MXN"; an English one "Monday, December 7, 2026", "9:04 AM CST". Python code
(services, the money feature) calls the same functions: ``format_money``, ``format_number``,
``format_day``, ``format_when``, ``parse_decimal``.

Registered app-wide by ``register_template_helpers`` (called once by the app factory).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app, has_request_context
from flask_login import current_user

from crm.i18n import LANGUAGE_CHOICES, _, _l, normalize_language, select_format_locale
from crm.policy import can_edit_owned
from crm.timeutil import is_valid_timezone, utcnow

# A bare language reads with the territory this product is made for: Spanish as written in
# Mexico (1,234.50; "9:04 a.m."), English as in the US. A regional tag (es-ES, en-GB, from a
# user's choice or a visitor's Accept-Language) keeps its own conventions (1.234,50 €).
DEFAULT_TERRITORY = {"en": "en_US", "es": "es_MX"}
FORMAT_LOCALES = ("en_US", "en_GB", "es_MX", "es_ES")


def locale_for(tag: str | None) -> Locale:
    """The Babel locale of a language tag ('es', 'es-MX', 'es_ES', 'en'...); English (US)
    for anything unknown."""
    text = (tag or "en").replace("-", "_").strip()
    if "_" not in text:
        text = DEFAULT_TERRITORY.get(text.lower(), "en_US")
    try:
        return Locale.parse(text)
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en_US")


def current_locale() -> Locale:
    """The locale the current request reads in (see ``crm.i18n.select_format_locale``);
    English (US) outside a request (CLI, jobs)."""
    if not has_request_context():
        return locale_for("en")
    return locale_for(select_format_locale())


def _locale(locale: Locale | str | None) -> Locale:
    if locale is None:
        return current_locale()
    return locale if isinstance(locale, Locale) else locale_for(locale)


def _zone(name: str | ZoneInfo | None) -> ZoneInfo:
    if isinstance(name, ZoneInfo):
        return name
    return ZoneInfo(name) if is_valid_timezone(name) else ZoneInfo("UTC")


def viewer_zone_name() -> str:
    if has_request_context() and current_user and getattr(current_user, "is_authenticated", False):
        return current_user.time_zone if is_valid_timezone(current_user.time_zone) else "UTC"
    return "UTC"


# --- numbers and money ---------------------------------------------------------------------


def format_number(value, digits: int | None = None, locale: Locale | str | None = None) -> str:
    """``1,234.5`` / ``1.234,5``; ``digits`` fixes the number of decimals."""
    if value is None or value == "":
        return ""
    loc = _locale(locale)
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if digits is None:
        return _plain_spaces(babel_numbers.format_decimal(number, locale=loc))
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _plain_spaces(babel_numbers.format_decimal(number, format=pattern, locale=loc, decimal_quantization=True))


def format_percent(value, digits: int = 0, locale: Locale | str | None = None) -> str:
    """A ratio (0.25) as ``25%`` / ``25 %``."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return _plain_spaces(babel_numbers.format_percent(value, format=pattern, locale=_locale(locale)))


_CODE_GLUED = re.compile(r"^([A-Z]{3})(?=[\d-])")


def format_money(amount, currency: str | None = "EUR", cents: bool = True,
                 locale: Locale | str | None = None) -> str:
    """An amount in its currency the reader's way: ``$2,500,000.00 MXN`` (es-MX),
    ``MX$2,500,000.00`` (en-US), ``1.234,50 €`` (es-ES). A bare ``$`` always says which
    dollar (or peso) it is, since the same page can show MXN and USD."""
    if amount is None or amount == "":
        return ""
    loc = _locale(locale)
    code = (currency or "").upper().strip() or "EUR"
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    try:
        if cents:
            text = babel_numbers.format_currency(value, code, locale=loc)
        else:
            text = babel_numbers.format_currency(value, code, locale=loc, format_type="standard",
                                                 currency_digits=False,
                                                 format=_no_cents_pattern(loc))
    except (ValueError, babel_numbers.UnknownCurrencyError):
        return f"{format_number(value, 2 if cents else 0, loc)} {code}"
    text = _CODE_GLUED.sub(r"\1 ", text.replace("\xa0", " "))
    if babel_numbers.get_currency_symbol(code, locale=loc) == "$" and code not in text:
        text = f"{text} {code}"
    return text


def _no_cents_pattern(loc: Locale) -> str:
    pattern = loc.currency_formats["standard"].pattern.split(";")[0]
    return re.sub(r"0\.0+", "0", pattern)


_NUMBER_CHARACTERS = re.compile(r"^[-+]?\d[\d.,'’]*$")
_PLAIN_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")


def parse_decimal(text: str | None, locale: Locale | str | None = None) -> Decimal:
    """A number typed the reader's way: ``125,000.50`` in English or Mexican Spanish,
    ``125.000,50`` in Spanish of Spain. Plain ``125000.50`` is always accepted. Raises
    ``ValueError`` on anything else (a stray letter, ``1,2,3.4.5``)."""
    raw = (text or "").strip().replace("\xa0", " ").replace(" ", "")
    if not raw:
        raise ValueError("empty number")
    if not _NUMBER_CHARACTERS.match(raw):  # Babel would read "NaN", "1e5", "Infinity"
        raise ValueError(f"not a number: {text!r}")
    loc = _locale(locale)
    try:
        return babel_numbers.parse_decimal(raw, locale=loc, strict=True)
    except babel_numbers.NumberFormatError:
        pass  # not the reader's way: maybe the plain form a form was filled with (125000.50)
    if not _PLAIN_NUMBER.match(raw):
        raise ValueError(f"not a number: {text!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a number: {text!r}")
    return value


# --- dates and times -----------------------------------------------------------------------

DATE_STYLES = ("short", "medium", "long", "full")


def _as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 7:  # a planning month, "2030-02"
            text += "-01"
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.date()
    return value


def format_day(value, style: str = "medium", locale: Locale | str | None = None) -> str:
    """A calendar date: ``medium`` "Dec 7, 2026" / "7 dic 2026", ``full`` "lunes, 7 de
    diciembre de 2026", ``month`` "December 2026" / "diciembre de 2026", ``short_month``
    "Dec 2026", ``day_month`` "Mon, Dec 7" / "lun 7 de dic", ``weekday`` "Monday"; any other
    text is a CLDR skeleton. ISO strings (as kept in deal history) are read too."""
    day = _as_date(value)
    if day is None:
        return "" if value in (None, "") else str(value)
    loc = _locale(locale)
    if style in DATE_STYLES:
        return babel_dates.format_date(day, style, locale=loc)
    if style == "month":
        return babel_dates.format_skeleton("yMMMM", day, locale=loc)
    if style == "short_month":
        return babel_dates.format_skeleton("yMMM", day, locale=loc)
    if style == "month_name":
        return babel_dates.format_date(day, "LLLL", locale=loc)
    if style == "month_abbr":
        return babel_dates.format_date(day, "LLL", locale=loc)
    if style == "day_month":
        return babel_dates.format_skeleton("MMMEd", day, locale=loc)
    if style == "weekday":
        return babel_dates.format_date(day, "EEEE", locale=loc)
    if style == "long_day":  # the full date without its year: "martes, 10 de marzo"
        pattern = re.sub(r"[,\s]*('de'\s*)?y+\W*$", "", loc.date_formats["full"].pattern)
        return babel_dates.format_date(day, pattern, locale=loc)
    return babel_dates.format_skeleton(style, day, locale=loc)


def zone_label(value: datetime, zone: ZoneInfo) -> str:
    """The zone's short name at that instant (CST, CET, EST); where the zone has none,
    its offset (-03), and UTC as UTC."""
    return value.astimezone(zone).tzname() or str(zone)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def format_clock(value: datetime | None, zone: str | ZoneInfo | None = None, show_zone: bool = False,
                 locale: Locale | str | None = None) -> str:
    """The time of day of a UTC instant in a zone (the viewer's by default): "9:04 AM",
    "9:04 a.m.", with the zone's name after it when ``show_zone``."""
    if value is None:
        return ""
    loc = _locale(locale)
    tz = _zone(zone or viewer_zone_name())
    instant = _aware(value).astimezone(tz)
    # CLDR puts a narrow no-break space before "AM"/"a.m.": a plain one reads (and is typed,
    # and searched) the same everywhere.
    text = _plain_spaces(babel_dates.format_time(instant, "short", tzinfo=tz, locale=loc))
    return f"{text} {zone_label(instant, tz)}" if show_zone else text


def _plain_spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def format_when(value: datetime | None, style: str = "medium", zone: str | ZoneInfo | None = None,
                show_zone: bool = False, locale: Locale | str | None = None) -> str:
    """A stored UTC instant in a zone (the viewer's by default): its date in ``style`` (see
    ``format_day``), a comma, its time; the zone's name after it when ``show_zone``."""
    if value is None:
        return ""
    loc = _locale(locale)
    tz = _zone(zone or viewer_zone_name())
    instant = _aware(value).astimezone(tz)
    day = format_day(instant.date(), style, loc)
    return f"{day}, {format_clock(instant, tz, show_zone, loc)}"


# Formats the pages used before issue #17 (strftime), kept so a caller's old format still
# reads localised: each maps to a date style and whether the time is shown.
LEGACY_FORMATS = {
    "%d %b %Y": ("medium", False),
    "%d %b": ("day_month", False),
    "%d %b %Y, %H:%M": ("medium", True),
    "%d %b %Y %H:%M": ("medium", True),
    "%a %d %b %Y, %H:%M": ("yMMMEd", True),
    "%A %d %B %Y, %H:%M": ("full", True),
    "%Y-%m-%d %H:%M": ("short", True),
}


def local_datetime(value: datetime | None, fmt: str | None = None, show_zone: bool = False) -> str:
    """A stored UTC time shown in the viewing user's time zone, in their locale."""
    if value is None:
        return ""
    style, with_time = LEGACY_FORMATS.get(fmt or "", (fmt or "medium", True))
    if with_time:
        return format_when(value, style, show_zone=show_zone)
    return format_day(_aware(value).astimezone(_zone(viewer_zone_name())).date(), style)


def time_in_zone(zone_name: str | None, fmt: str | None = None) -> str:
    """The current wall-clock time in a zone: "what time is it for this contact", e.g.
    "9:04 AM (Mon)" / "9:04 a.m. (lun)"."""
    now = utcnow().astimezone(_zone(zone_name))
    loc = current_locale()
    clock = _plain_spaces(babel_dates.format_time(now, "short", locale=loc))
    return f"{clock} ({babel_dates.format_date(now.date(), 'EEE', locale=loc)})"


def nice_date(value: date | str | None, style: str = "medium") -> str:
    """``Dec 7, 2026`` / ``7 dic 2026``; ISO strings (as kept in deal history) are accepted."""
    return format_day(value, style)


def money(value: Decimal | int | float | None, currency: str | None = "EUR", cents: bool = True) -> str:
    return format_money(value, currency, cents)


def quantity(value: float | None) -> str:
    if value is None:
        return ""
    return format_number(value, 0 if float(value).is_integer() else 2)


def activity_label(kind: str) -> str:
    """How an activity kind reads on a timeline: each feature declares the kinds it writes
    (``timeline_labels`` in ``crm/features.py``); an undeclared kind still reads as words."""
    label = current_app.extensions["crm_timeline_labels"].get(kind)
    return _(str(label)) if label else kind.replace("_", " ").capitalize()


# Detail keys carry their unit as a suffix (``duration_s``, ``duration_min``): shown without it.
UNIT_SUFFIXES = ("_s", "_min")
WORD_VALUES = ("outcome", "status", "result", "direction")


def detail_label(key: str) -> str:
    for suffix in UNIT_SUFFIXES:
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return _(key.replace("_", " ").capitalize())


def detail_value(key: str, value) -> str:
    """One activity detail for people: seconds as ``16m 51s``, ``no_answer`` as ``No answer``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if key.endswith("_s"):
            minutes, seconds = divmod(int(value), 60)
            return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
        if key.endswith("_min"):
            return f"{format_number(value)} min"
    if key in WORD_VALUES and isinstance(value, str):
        return _(value.replace("_", " ").capitalize())
    return str(value)


def custom_value(value) -> str:
    """A custom-field value for display (booleans as Yes/No, dates as written)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)


def role_label(role: str | None) -> str:
    """A role as people read it, in their language (the code stays in data and the API)."""
    labels = {"rep": _l("Sales rep"), "manager": _l("Manager"), "planner": _l("Planner"),
              "finance": _l("Finance"), "admin": _l("Administrator")}
    return str(labels.get(role or "", role or ""))


def language_name(tag: str | None) -> str:
    """A language tag by its own name ("Español (México)"), as the choosers list it."""
    names = dict(LANGUAGE_CHOICES)
    return names.get(normalize_language(tag) or "", tag or "")


def can_edit(record) -> bool:
    """Whether the viewer may change ``record`` (owner, owner's manager, admin, or unowned).
    Uses the already-loaded owner, so it adds no query when lists join the owner in."""
    if not current_user.is_authenticated:
        return False
    owner = getattr(record, "owner", None)
    return can_edit_owned(current_user, getattr(record, "owner_id", None), owner.manager_id if owner else None)


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(local_datetime, "localtime")
    app.add_template_filter(format_when, "when")
    app.add_template_filter(format_clock, "clock")
    app.add_template_filter(nice_date, "nicedate")
    app.add_template_filter(format_day, "day")
    app.add_template_filter(money, "money")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(format_percent, "percent")
    app.add_template_filter(quantity, "qty")
    app.add_template_filter(activity_label, "activity_label")
    app.add_template_filter(custom_value, "custom_value")
    app.add_template_filter(detail_label, "detail_label")
    app.add_template_global(detail_value, "detail_value")
    app.add_template_global(can_edit, "can_edit")
    app.add_template_global(role_label, "role_label")
    app.add_template_global(language_name, "language_name")
    app.add_template_global(time_in_zone, "time_in_zone")
    app.add_template_global(viewer_zone_name, "viewer_zone")
