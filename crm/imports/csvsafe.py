"""CSV output that is safe to open in a spreadsheet."""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Neutralise spreadsheet formulas: a rejected row's reason quotes user data, and a cell
    such as ``=HYPERLINK(...)`` must not run when someone opens the rejects file in Excel."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
