"""The demand input in the shapes planning tools import as they are.

* ``frepple_csv``: frePPLe's forecast plan upload, list format (one line per item, location,
  customer and bucket; see frePPLe's "Forecast plan" reference, "Manual forecast upload"):
  ``item`` = the family code, ``location`` and ``customer`` from the caller (configurable,
  defaults ``FREPPLE_LOCATION`` / ``FREPPLE_CUSTOMER``), ``startdate``/``enddate`` = the first
  and last day of the monthly bucket, ``forecastoverride`` = the demand input's planned units.
  frePPLe puts a quantity given for a date range into its own forecasting buckets, so a weekly
  frePPLe model takes the months too.
* ``demand_xlsx``: the family × month grid most S&OP meetings run on, one sheet per measure
  (``XLSX_MEASURES``) and an "About" sheet saying how the numbers were made.

Columns are declared once per shape (``FREPPLE_COLUMNS``, ``XLSX_MEASURES``) as (header, how to
read it from a ``DemandRow``): adding one (a currency, say) is one entry.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any, Callable

from planning_bridge.periods import first_day, last_day, period_index

FREPPLE_LOCATION = "All locations"
FREPPLE_CUSTOMER = "All customers"
MAX_NAME = 300  # frePPLe's names are at most 300 characters

FREPPLE_COLUMNS: tuple[tuple[str, Callable[[Any, dict], Any]], ...] = (
    ("item", lambda row, ctx: row.family),
    ("location", lambda row, ctx: ctx["location"]),
    ("customer", lambda row, ctx: ctx["customer"]),
    ("startdate", lambda row, ctx: first_day(period_index(row.period)).isoformat()),
    ("enddate", lambda row, ctx: last_day(period_index(row.period)).isoformat()),
    ("forecastoverride", lambda row, ctx: _number(row.demand_input_units)),
)

XLSX_MEASURES: tuple[tuple[str, str], ...] = (
    ("demand_input_units", "Demand input"),
    ("baseline_units", "Baseline"),
    ("weighted_units", "Weighted pipeline"),
    ("weighted_revenue", "Weighted revenue"),
    ("best_case_units", "Best case"),
    ("commit_units", "Commit"),
    ("low_units", "Low (P10)"),
    ("high_units", "High (P90)"),
    ("deal_count", "Deals"),
)


def frepple_csv(rows, *, location: str = FREPPLE_LOCATION, customer: str = FREPPLE_CUSTOMER) -> str:
    """The rows as frePPLe's forecast plan list (see the module docstring)."""
    context = {"location": location, "customer": customer}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header for header, _read in FREPPLE_COLUMNS])
    for row in rows:
        writer.writerow([read(row, context) for _header, read in FREPPLE_COLUMNS])
    return out.getvalue()


def demand_xlsx(rows, about: dict[str, str]) -> bytes:
    """An Excel workbook: per measure, a sheet with a family per row and a month per column,
    and an "About" sheet with ``about`` (label → text)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    families = sorted({row.family for row in rows})
    periods = sorted({row.period for row in rows})
    cells = {(row.family, row.period): row for row in rows}
    book = Workbook()
    book.remove(book.active)
    for measure, title in XLSX_MEASURES:
        sheet = book.create_sheet(title[:31])
        sheet.append(["family"] + [first_day(period_index(p)) for p in periods])
        for family in families:
            sheet.append([family] + [_cell(cells.get((family, p)), measure) for p in periods])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm"
        sheet.freeze_panes = "B2"
        sheet.column_dimensions["A"].width = 14
    info = book.create_sheet("About")
    for label, text in about.items():
        info.append([label, text])
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(row, measure: str):
    if row is None:
        return None
    value = getattr(row, measure)
    if isinstance(value, Decimal):
        return float(value)
    return round(value, 6) if isinstance(value, float) else value


def _number(value: float) -> str:
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
