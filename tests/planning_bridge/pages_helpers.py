"""Helpers shared by the planner-page tests (tests/planning_bridge/test_pages_*.py)."""
from __future__ import annotations

import json
import re
from datetime import date

# Far enough ahead that the live pipeline (read as of the real today) holds these deals open
# and unslipped whatever day the suite runs.
FUTURE = date(2030, 1, 10)
RANGE = {"from": "2030-01", "to": "2030-06", "probabilities": "stage"}


def chart_data(html: str, family: str) -> dict:
    """The JSON block a family's chart is drawn from."""
    match = re.search(
        rf'<script type="application/json" id="chart-data-{re.escape(family)}">(.*?)</script>', html, re.S)
    assert match, f"no chart data for {family}"
    return json.loads(match.group(1))


def value_at(chart: dict, series: str, period: str):
    return chart[series][chart["labels"].index(period)]
