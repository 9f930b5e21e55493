"""Money in more than one currency: the base currency, dated exchange rates, conversions.

Every amount keeps the currency it was entered in; totals are in the company's base currency.
A rate says "from ``valid_from`` on, 1 ``currency`` = ``rate`` base" and holds until the
currency's next rate. Which day an amount converts at (``conversion_day``):

* an **open** deal: the last day of its expected close month (so all deals of one planning
  month convert at the same rate, and a rate entered during the current month applies to deals
  closing in it; for a future month that is the latest rate known);
* a **won or lost** deal: its close date (the day the price was agreed).

No total ever adds raw amounts of different currencies: an amount whose currency has no rate on
its day is left out of the sum and reported (``Total.missing``); API answers refuse with 409
(``MissingRate``), pages show a warning naming the currency and day. Decimal throughout.
"""
from __future__ import annotations

import calendar
import csv
import io
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import list_currencies
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.money.models import DEFAULT_BASE_CURRENCY, CompanySettings, ExchangeRate
from crm.timeutil import utcnow
from crm.web.pagination import paginate

CENT = Decimal("0.01")
ONE = Decimal(1)
MAX_RATE = Decimal("9999999999")
RATE_PLACES = 8
MAX_CSV_BYTES = 1024 * 1024
MAX_CSV_ROWS = 10_000


class MissingRate(Conflict):
    """An amount could not be converted: no rate for its currency on its day (409 in the API)."""

    code = "missing_exchange_rate"

    def __init__(self, missing):
        self.missing = sorted(set(missing))
        listed = ", ".join(f"{currency} on {day.isoformat()}" for currency, day in self.missing[:5])
        more = len(self.missing) - 5
        super().__init__(
            _("No exchange rate into %(base)s for %(missing)s%(more)s: an administrator adds one "
              "under Administration → Currencies.", base=base_currency(), missing=listed,
              more=_(" and %(n)s more", n=more) if more > 0 else ""),
            {"currency": ", ".join(sorted({currency for currency, _day in self.missing}))},
        )


# --- currency codes ----------------------------------------------------------------------

_KNOWN: frozenset[str] | None = None


def known_currencies() -> frozenset[str]:
    """ISO 4217 codes CLDR knows (Babel's list): "EUR", "MXN", "USD"…"""
    global _KNOWN
    if _KNOWN is None:
        _KNOWN = frozenset(code for code in list_currencies() if len(code) == 3 and code.isalpha())
    return _KNOWN


def clean_currency(value) -> str:
    """An ISO 4217 code from user input (any case, spaces around), or ValueError."""
    code = str(value or "").strip().upper()
    if len(code) != 3 or not code.isalpha() or code not in known_currencies():
        raise ValueError(_("an ISO 4217 currency code such as MXN, USD or EUR"))
    return code


def clean_rate(value) -> Decimal:
    """A rate from user input ("17.25"): positive, at most 8 decimals; else ValueError."""
    if isinstance(value, float):
        value = repr(value)
    try:
        rate = Decimal(str(value).strip().replace(" ", ""))
    except (InvalidOperation, ValueError):
        raise ValueError(_("a positive number such as 17.25")) from None
    if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        raise ValueError(_("a positive number such as 17.25"))
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -RATE_PLACES:
        raise ValueError(_("at most %(n)s decimals", n=RATE_PLACES))
    return rate


def clean_day(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValueError(_("a date YYYY-MM-DD")) from None


# --- the base currency -------------------------------------------------------------------

def base_currency() -> str:
    settings = db.session.get(CompanySettings, 1)
    return settings.base_currency if settings is not None else DEFAULT_BASE_CURRENCY


def company_settings() -> CompanySettings | None:
    return db.session.get(CompanySettings, 1)


def _require_admin(actor) -> None:
    if actor is not None and getattr(actor, "role", None) != "admin":
        raise PermissionDenied(_("only an administrator changes currencies and exchange rates"))


def set_base_currency(actor, code) -> str:
    """Make ``code`` the base currency. Rates entered against the old base are kept but stop
    applying (they say how many old-base units a currency was worth)."""
    _require_admin(actor)
    try:
        code = clean_currency(code)
    except ValueError as exc:
        raise ValidationFailed(_("invalid base currency"), {"currency": str(exc)}) from None
    settings = db.session.get(CompanySettings, 1)
    if settings is None:
        settings = CompanySettings(id=1)
        db.session.add(settings)
    settings.base_currency = code
    settings.updated_at = utcnow()
    settings.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    return code


# --- rates --------------------------------------------------------------------------------

def list_rates(currency: str | None = None, page: int = 1, per_page: int = 50):
    """Rates against the current base, newest first, one page (``crm.web.pagination.Page``)."""
    query = select(ExchangeRate).where(ExchangeRate.base == base_currency())
    if currency:
        query = query.where(ExchangeRate.currency == currency)
    return paginate(query.order_by(ExchangeRate.currency, ExchangeRate.valid_from.desc(), ExchangeRate.id),
                    page, per_page)


def stale_rate_count() -> int:
    """Rates entered against another base currency (kept, not used)."""
    return db.session.scalar(
        select(func.count()).select_from(ExchangeRate).where(ExchangeRate.base != base_currency())) or 0


def add_rate(actor, currency, rate, valid_from) -> ExchangeRate:
    """Record "from ``valid_from`` on, 1 ``currency`` = ``rate`` base"; a rate already given for
    that currency and day is replaced (a correction), with who and when."""
    _require_admin(actor)
    base = base_currency()
    errors: dict[str, str] = {}
    values = {}
    for name, value, clean in (("currency", currency, clean_currency), ("rate", rate, clean_rate),
                               ("valid_from", valid_from, clean_day)):
        try:
            values[name] = clean(value)
        except ValueError as exc:
            errors[name] = str(exc)
    if not errors and values["currency"] == base:
        errors["currency"] = _("%(code)s is the base currency: it needs no rate", code=base)
    if errors:
        raise ValidationFailed(_("invalid exchange rate"), errors)
    existing = db.session.scalar(select(ExchangeRate).where(
        ExchangeRate.base == base, ExchangeRate.currency == values["currency"],
        ExchangeRate.valid_from == values["valid_from"]))
    entry = existing or ExchangeRate(base=base, currency=values["currency"], valid_from=values["valid_from"])
    entry.rate = values["rate"]
    entry.created_at = utcnow()
    entry.created_by_id = getattr(actor, "id", None)
    if existing is None:
        try:
            with db.session.begin_nested():  # a concurrent request may have added the same day
                db.session.add(entry)
        except IntegrityError:
            raise Conflict(_("a rate for %(currency)s from %(day)s was just added: try again",
                             currency=values["currency"], day=str(values["valid_from"])),
                           {"valid_from": _("already given")}) from None
    db.session.flush()
    return entry


def delete_rate(actor, rate_id: int) -> None:
    _require_admin(actor)
    entry = db.session.get(ExchangeRate, rate_id)
    if entry is None:
        raise NotFound(_("no such exchange rate"))
    db.session.execute(delete(ExchangeRate).where(ExchangeRate.id == rate_id))
    db.session.flush()


def import_rates_csv(actor, data: bytes | str) -> int:
    """Rates from a CSV with the columns ``currency,rate,valid_from`` (a header row; "," or ";"
    separated). All or nothing: any bad row refuses the whole file, naming each bad row."""
    _require_admin(actor)
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise ValidationFailed(_("file too large"), {"file": _("at most 1 MB")})
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(_("invalid file"), {"file": _("a UTF-8 CSV file")}) from None
    rows = _csv_rows(data)
    errors: dict[str, str] = {}
    for number, row in rows:
        try:
            clean_currency(row.get("currency"))
            clean_rate(row.get("rate"))
            clean_day(row.get("valid_from"))
        except ValueError as exc:
            errors[f"row {number}"] = str(exc)
    if errors:
        raise ValidationFailed(_("invalid exchange rates file"), dict(list(errors.items())[:20]))
    try:
        for _number, row in rows:
            add_rate(actor, row["currency"], row["rate"], row["valid_from"])
    except ValidationFailed as exc:
        raise ValidationFailed(_("invalid exchange rates file"), {"file": "; ".join(exc.fields.values())}) from None
    return len(rows)


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ValidationFailed(_("empty file"), {"file": _("a header row currency,rate,valid_from, then rates")})
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = {"currency", "rate", "valid_from"} - set(header)
    if missing:
        raise ValidationFailed(_("invalid file"), {"file": _("missing columns: %(names)s",
                                                           names=", ".join(sorted(missing)))})
    rows: list[tuple[int, dict[str, str]]] = []
    for number, raw in enumerate(reader, start=2):
        if len(rows) >= MAX_CSV_ROWS:
            raise ValidationFailed(_("file too large"), {"file": _("at most %(n)s rows", n=MAX_CSV_ROWS)})
        row = {(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
        if any(row.values()):
            rows.append((number, row))
    if not rows:
        raise ValidationFailed(_("empty file"), {"file": _("no rates in the file")})
    return rows


# --- conversion --------------------------------------------------------------------------

def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def conversion_day(status: str, expected_close: date | None, closed_on: date | None) -> date:
    """The day a deal's amount converts at: its close date once won or lost, else the last day
    of its expected close month (see the module's docstring)."""
    if status != "open" and closed_on is not None:
        return closed_on
    assert expected_close is not None
    return month_end(expected_close)


class RateBook:
    """Every rate into the current base, loaded once (the table is small): what a total of many
    amounts converts with, without a query per amount."""

    def __init__(self, base: str, rates: dict[str, tuple[list[date], list[Decimal]]]):
        self.base = base
        self._rates = rates

    @classmethod
    def load(cls) -> RateBook:
        base = base_currency()
        rates: dict[str, tuple[list[date], list[Decimal]]] = defaultdict(lambda: ([], []))
        for currency, day, rate in db.session.execute(
            select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.rate)
            .where(ExchangeRate.base == base).order_by(ExchangeRate.currency, ExchangeRate.valid_from)
        ):
            rates[currency][0].append(day)
            rates[currency][1].append(Decimal(rate))
        return cls(base, dict(rates))

    def find(self, currency: str | None, day: date) -> Decimal | None:
        """1 ``currency`` in base units on ``day`` (1 for the base itself), None when unknown."""
        currency = (currency or self.base).upper()
        if currency == self.base:
            return ONE
        days, rates = self._rates.get(currency, ((), ()))
        at = bisect_right(days, day)
        return rates[at - 1] if at else None

    def rate_on(self, currency: str | None, day: date) -> Decimal:
        rate = self.find(currency, day)
        if rate is None:
            raise MissingRate([((currency or "").upper(), day)])
        return rate

    def to_base(self, amount, currency: str | None, day: date) -> Decimal:
        return convert(amount, self.rate_on(currency, day))

    def try_to_base(self, amount, currency: str | None, day: date) -> Decimal | None:
        rate = self.find(currency, day)
        return None if rate is None else convert(amount, rate)


def convert(amount, rate: Decimal) -> Decimal:
    return (Decimal(amount or 0) * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def rate_on(currency: str, day: date) -> Decimal:
    """1 ``currency`` in base units on ``day``; ``MissingRate`` when none applies."""
    return RateBook.load().rate_on(currency, day)


def to_base(amount, currency: str, day: date) -> Decimal:
    """``amount`` of ``currency`` in the base currency at the rate valid on ``day``."""
    return RateBook.load().to_base(amount, currency, day)


@dataclass(frozen=True)
class InBase:
    """One amount seen in the base currency: ``amount`` None when no rate applies on ``day``."""

    base: str
    currency: str
    day: date
    amount: Decimal | None

    @property
    def foreign(self) -> bool:
        return self.currency != self.base


def deal_in_base(amount, currency: str | None, status: str, expected_close: date | None,
                 closed_on: date | None) -> InBase:
    """A deal's amount in the base currency at its conversion day (what its page shows beside
    the original)."""
    book = RateBook.load()
    day = conversion_day(status, expected_close, closed_on)
    code = (currency or book.base).upper()
    return InBase(book.base, code, day, book.try_to_base(amount, code, day))


def deals_in_base(deals) -> dict[int, InBase]:
    """``deal_in_base`` for a page of deals (objects with id, amount, currency, status,
    expected_close, closed_on) with one load of the rates; deals in the base currency are left
    out (nothing to show beside them)."""
    book = RateBook.load()
    found = {}
    for deal in deals:
        code = (deal.currency or book.base).upper()
        if code == book.base or deal.amount is None:
            continue
        day = conversion_day(deal.status, deal.expected_close, deal.closed_on)
        found[deal.id] = InBase(book.base, code, day, book.try_to_base(deal.amount, code, day))
    return found


@dataclass
class Total:
    """A sum in the base currency, built amount by amount. Amounts that could not be converted
    stay out of ``amount`` and are kept, per currency, in ``unconverted`` (with the days in
    ``missing``) so pages can say what is left out; ``originals`` keeps each currency's own sum
    for the "original next to converted" display."""

    base: str
    amount: Decimal = Decimal("0.00")
    originals: dict[str, Decimal] = field(default_factory=dict)
    unconverted: dict[str, Decimal] = field(default_factory=dict)
    missing: set[tuple[str, date]] = field(default_factory=set)

    def add(self, book: RateBook, amount, currency: str | None, day: date) -> Decimal | None:
        currency = (currency or book.base).upper()
        value = Decimal(amount or 0)
        self.originals[currency] = self.originals.get(currency, Decimal("0.00")) + value
        converted = book.try_to_base(value, currency, day)
        if converted is None:
            self.unconverted[currency] = self.unconverted.get(currency, Decimal("0.00")) + value
            self.missing.add((currency, day))
        else:
            self.amount += converted
        return converted

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def foreign(self) -> dict[str, Decimal]:
        """The sums in currencies other than the base (what pages show beside the total)."""
        return {c: v for c, v in sorted(self.originals.items()) if c != self.base}

    def require_complete(self) -> Decimal:
        if self.missing:
            raise MissingRate(self.missing)
        return self.amount
