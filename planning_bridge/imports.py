"""CSV imports: deals exported by another CRM, and actual orders from the ERP.

A file is taken whole or not at all: every row is checked first, and when any row is bad the
result lists every bad row with its line number (the header is line 1), each with every bad
value it holds ("negative units; negative revenue"), and nothing changes. The separator is
told from the header (',', ';', tab or '|': spreadsheets in many locales save ';').

* Deals (``deal_id,family,quantity,amount,stage,created_on,expected_close,closed_on,won``,
  optional ``probability``): one row per deal line. Each import replaces the deals imported
  before (the file is the other CRM's full export). ``closed_on`` and ``won`` are both empty
  while the deal is open; ``probability`` (0 to 1) is the other CRM's probability, used as the
  deal's stage probability; without it the stage must be one of this CRM's stages.
* Actuals (``family,period,units,revenue``): units ordered per family and month (``YYYY-MM``);
  each row replaces the family-month it names, other months are kept.
"""
from __future__ import annotations

import codecs
import csv
import io
import math
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Iterator, cast

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import CursorResult

from planning_bridge import crm_port
from planning_bridge.contracts import ImportRejection, ImportResult
from planning_bridge.inputs import stage_probabilities
from planning_bridge.models import Actual, ImportedDealLine
from planning_bridge.periods import parse_period, period_text

DEAL_COLUMNS = ("deal_id", "family", "quantity", "amount", "stage", "created_on", "expected_close",
                "closed_on", "won")
DEAL_OPTIONAL = ("probability",)
ACTUAL_COLUMNS = ("family", "period", "units", "revenue")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_QUANTITY = 1e12
MAX_AMOUNT = Decimal("9999999999.99")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CENT = Decimal("0.01")


class RowError(ValueError):
    pass


def import_deals_csv(source: str | Path | bytes | IO, *, now: datetime | None = None) -> ImportResult:
    """Replace the imported deals with the file's (see the module docstring). Flushes; the
    caller commits."""
    now = now or crm_port.utcnow()
    header, rows, rejected = _read(source, DEAL_COLUMNS, DEAL_OPTIONAL)
    if header is None:
        return ImportResult("deals", 0, 0, tuple(rejected))
    families = {f.code for f in crm_port.product_families()}
    stages = stage_probabilities()
    records: list[dict[str, Any]] = []
    first_seen: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, raw in rows:
        try:
            record = _deal_record(raw, families, stages)
            _check_same_deal(record, first_seen.setdefault(record["deal_id"], (line, record)))
        except RowError as exc:
            rejected.append(ImportRejection(line, str(exc)))
            continue
        records.append({**record, "line_number": line, "imported_at": now})
    if rejected:
        return ImportResult("deals", len(records) + len(rejected), 0, tuple(rejected))
    session = crm_port.db.session
    replaced = cast("CursorResult[Any]", session.execute(delete(ImportedDealLine))).rowcount or 0
    if records:
        session.execute(insert(ImportedDealLine), records)
    session.flush()
    return ImportResult("deals", len(records), len(records), (), replaced)


def import_actuals_csv(source: str | Path | bytes | IO, *, now: datetime | None = None) -> ImportResult:
    """Write the file's actual units per family and month (see the module docstring). Flushes;
    the caller commits."""
    now = now or crm_port.utcnow()
    header, rows, rejected = _read(source, ACTUAL_COLUMNS, ())
    if header is None:
        return ImportResult("actuals", 0, 0, tuple(rejected))
    families = {f.code for f in crm_port.product_families()}
    records: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in rows:
        try:
            record = _actual_record(raw, families)
            key = (record["family"], record["period"])
            if key in seen:
                raise RowError(f"duplicate period {record['period']} for {record['family']} "
                               f"(first on line {seen[key]})")
            seen[key] = line
        except RowError as exc:
            rejected.append(ImportRejection(line, str(exc)))
            continue
        records.append(record)
    if rejected:
        return ImportResult("actuals", len(records) + len(rejected), 0, tuple(rejected))
    session = crm_port.db.session
    existing = {(a.family, a.period): a for a in session.scalars(select(Actual))}
    replaced = 0
    for record in records:
        actual = existing.get((record["family"], record["period"]))
        if actual is None:
            session.add(Actual(**record, imported_at=now))
        else:
            actual.units, actual.revenue, actual.imported_at = record["units"], record["revenue"], now
            replaced += 1
    session.flush()
    return ImportResult("actuals", len(records), len(records), (), replaced)


# --- reading ----------------------------------------------------------------------------

def read_rows(source, required: tuple[str, ...], optional: tuple[str, ...]):
    """A CSV checked the way every bridge import checks it (size, UTF-8, header): (header or
    None when the file is unusable, iterator of (line, {column: text}), rejections so far).
    The S&OP plan imports (``planning_bridge.sop.plans``) read their files with it."""
    return _read(source, required, optional)


def _read(source, required: tuple[str, ...], optional: tuple[str, ...]):
    """(header, iterator of (line, {column: text}), rejections so far); header None when the
    file itself is unusable."""
    try:
        text = _text_of(source)
    except RowError as exc:
        return None, iter(()), [ImportRejection(1, str(exc))]
    delimiter = detect_delimiter(text, required + optional)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return None, iter(()), [ImportRejection(1, "the file is empty")]
    except csv.Error as exc:
        return None, iter(()), [ImportRejection(1, f"not a CSV file: {exc}")]
    problems = []
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required + optional]
    if missing:
        problems.append("missing columns: " + ", ".join(missing))
    if unknown:
        problems.append("unknown columns: " + ", ".join(c[:40] for c in unknown[:10]))
        hint = _separator_hint(header)
        if hint:
            problems.append(hint)
    if len(set(header)) != len(header):
        problems.append("a column appears twice")
    if problems:
        return None, iter(()), [ImportRejection(1, "; ".join(problems))]
    return header, _rows(reader, header), []


SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "','", ";": "';'", "\t": "a tab", "|": "'|'"}


def detect_delimiter(text: str, columns: tuple[str, ...]) -> str:
    """The separator of the file's header: the one that splits it into the most expected
    column names (a spreadsheet in a European locale saves CSV with ';'). Comma when none
    does better, so an ordinary file reads as before."""
    first_line = text.split("\n", 1)[0].strip("\r")
    best, best_hits = ",", 0
    for separator in SEPARATORS:
        names = [name.strip().strip('"').lower() for name in first_line.split(separator)]
        hits = sum(1 for name in names if name in columns)
        if hits > best_hits:
            best, best_hits = separator, hits
    return best


def _separator_hint(header: list[str]) -> str | None:
    """"this file uses ';' as separator" when the header read as one comma-separated name
    holds another separator (a file whose separator could not be told from its header)."""
    for separator in SEPARATORS[1:]:
        if any(separator in name for name in header):
            return (f"this file seems to use {SEPARATOR_NAMES[separator]} as separator: save it "
                    f"comma-separated, or use the column names of the template")
    return None


def _rows(reader, header) -> Iterator[tuple[int, dict[str, str] | None]]:
    count = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, {"__error__": f"unreadable CSV: {exc}"}
            return
        if not any(v.strip() for v in values):
            continue
        count += 1
        if count > MAX_ROWS:
            yield reader.line_num, {"__error__": f"more than {MAX_ROWS:,} rows: split the file"}
            return
        if len(values) != len(header):
            yield reader.line_num, {"__error__": f"{len(values)} values for {len(header)} columns"}
            continue
        yield reader.line_num, {name: value.strip() for name, value in zip(header, values)}


def _text_of(source) -> str:
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise RowError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError:
        raise RowError("the file is not UTF-8 text") from None


# --- checking one row -------------------------------------------------------------------

def _deal_record(raw: dict[str, str], families: set[str], stages: dict[str, float]) -> dict[str, Any]:
    _unreadable(raw)
    errors: list[str] = []
    record: dict[str, Any] = {
        "deal_id": _checked(errors, _text, raw, "deal_id", 100),
        "family": _checked(errors, _family, raw, families),
        "quantity": _checked(errors, _number, raw, "quantity", positive=True),
        "amount": _checked(errors, _money, raw, "amount"),
        "stage": _checked(errors, _text, raw, "stage", 60),
        "created_on": _checked(errors, _date, raw, "created_on"),
        "expected_close": _checked(errors, _date, raw, "expected_close"),
        "closed_on": _checked(errors, _date, raw, "closed_on", required=False),
        "won": _checked(errors, _boolean, raw, "won"),
        "probability": _checked(errors, _probability, raw),
    }
    created, expected, closed = record["created_on"], record["expected_close"], record["closed_on"]
    both_read = "closed_on" not in _failed(errors) and "won" not in _failed(errors)
    if both_read and (closed is None) != (record["won"] is None):
        errors.append("closed_on and won are both empty (open deal) or both given (closed deal)")
    if created is not None and expected is not None and expected < created:
        errors.append("expected_close is before created_on")
    if created is not None and closed is not None and closed < created:
        errors.append("closed_on is before created_on")
    if (record["won"] is None and record["probability"] is None and record["stage"] is not None
            and record["stage"] not in stages and "probability" not in _failed(errors)):
        errors.append(f"unknown stage '{record['stage']}': use one of this CRM's stages or add a probability column")
    if errors:
        raise RowError("; ".join(errors))
    return record


def _checked(errors: list[str], check, *args, **kwargs):
    """``check(*args)``'s value, or None with its message added to ``errors``: a row reports
    every bad value at once (negative units *and* revenue), not only the first."""
    try:
        return check(*args, **kwargs)
    except RowError as exc:
        errors.append(str(exc))
        return None


def _failed(errors: list[str]) -> str:
    return " ".join(errors)


def _check_same_deal(record: dict[str, Any], first: tuple[int, dict[str, Any]]) -> None:
    line, earlier = first
    for key in ("stage", "created_on", "expected_close", "closed_on", "won", "probability"):
        if record[key] != earlier[key]:
            raise RowError(f"deal {record['deal_id']}: {key} differs from its line {line}")


def _actual_record(raw: dict[str, str], families: set[str]) -> dict[str, Any]:
    _unreadable(raw)
    errors: list[str] = []
    month = parse_period(raw["period"])
    if month is None:
        errors.append(f"period '{raw['period'][:20]}' is not a month written YYYY-MM")
    record = {"family": _checked(errors, _family, raw, families),
              "period": period_text(month) if month is not None else None,
              "units": _checked(errors, _number, raw, "units", positive=False),
              "revenue": _checked(errors, _money, raw, "revenue") if raw["revenue"] else None}
    if errors:
        raise RowError("; ".join(errors))
    return record


def _unreadable(raw: dict[str, str]) -> None:
    if "__error__" in raw:
        raise RowError(raw["__error__"])


def _text(raw, key: str, limit: int) -> str:
    value = raw[key]
    if not value:
        raise RowError(_("%(key)s is empty", key=key))
    if len(value) > limit:
        raise RowError(_("%(key)s is longer than %(max)s characters", key=key, max=limit))
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise RowError(_("%(key)s contains control characters", key=key))
    return value


def _family(raw, families: set[str]) -> str:
    code = raw["family"]
    if code not in families:
        raise RowError(_("unknown family '%(family)s'", family=code[:40]))
    return code


def _number(raw, key: str, *, positive: bool) -> float:
    try:
        value = float(raw[key])
    except ValueError:
        raise RowError(_("%(key)s '%(text)s' is not a number", key=key, text=raw[key][:20])) from None
    if not math.isfinite(value) or value >= MAX_QUANTITY:
        raise RowError(_("%(key)s is out of range", key=key))
    if value < 0:
        raise RowError(_("negative %(key)s", key=key))
    if positive and value == 0:
        raise RowError(_("%(key)s must be above 0", key=key))
    return value


def _money(raw, key: str) -> Decimal:
    try:
        value = Decimal(raw[key])
    except InvalidOperation:
        raise RowError(_("%(key)s '%(text)s' is not an amount", key=key, text=raw[key][:20])) from None
    if not value.is_finite() or value > MAX_AMOUNT:
        raise RowError(_("%(key)s is out of range", key=key))
    if value < 0:
        raise RowError(_("negative %(key)s", key=key))
    return value.quantize(CENT)


def _date(raw, key: str, required: bool = True) -> date | None:
    text = raw[key]
    if not text:
        if required:
            raise RowError(_("%(key)s is empty", key=key))
        return None
    if not DATE_RE.match(text):
        raise RowError(f"{key} '{text[:20]}' is not a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RowError(f"{key} '{text}' is an impossible date") from None


def _boolean(raw, key: str) -> bool | None:
    text = raw[key].lower()
    if not text:
        return None
    if text not in ("true", "false"):
        raise RowError(f"{key} must be true or false")
    return text == "true"


def _probability(raw) -> Decimal | None:
    text = raw.get("probability", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(f"probability '{text[:20]}' is not a number") from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise RowError("probability must be between 0 and 1")
    return value.quantize(Decimal("0.00001"))
