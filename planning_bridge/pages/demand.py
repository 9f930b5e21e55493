"""Demand input: the family x month table with a chart per family, its CSV, and the drill-down
from a number to the deal lines behind it."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from flask import abort, render_template, request, url_for

from planning_bridge import exports, services
from planning_bridge.api import XLSX, about_rows, csv_response, download
from planning_bridge.api_schemas import period_in_range
from planning_bridge.contracts import DemandRow
from planning_bridge.crm_port import base_currency_code, missing_exchange_rates, product_families, roles
from planning_bridge.pages import PLANNERS, bp
from planning_bridge.pages.charts import family_chart
from planning_bridge.pages.filters import DemandFilters, add_months, read_filters
from planning_bridge.pages.rules import rule_explanation, rule_label
from planning_bridge.periods import parse_period, period_text

log = logging.getLogger(__name__)

HISTORY_MONTHS = 12  # actuals shown before the horizon, so the forecast reads against the past


@dataclass
class FamilyBlock:
    """Everything the page shows for one family."""

    code: str
    name: str
    unit: str
    rule: str
    rows: list[DemandRow]
    actuals: dict[str, float]
    chart: dict
    totals: dict[str, float] = field(default_factory=dict)

    @cached_property
    def by_period(self) -> dict[str, DemandRow]:
        return {row.period: row for row in self.rows}


def _families_by_code() -> dict:
    return {family.code: family for family in product_families()}


def _filters() -> tuple[DemandFilters, dict]:
    families = _families_by_code()
    return read_filters(request.args, list(families)), families


def _drill_url(filters: DemandFilters, family: str, period: str) -> str:
    """The drill-down keeps the page's months and options, so its way back shows the same
    view (all families: ``family`` is the drill-down's own path argument)."""
    args = filters.query()
    args.pop("family", None)
    return url_for("planning.contributions", family=family, period=period, **args)


def _compute(filters: DemandFilters) -> tuple[list[DemandRow], str]:
    """The live demand input and the probability source actually used (``calibrated`` falls
    back to ``stage`` while there is too little closed history)."""
    rows = services.demand_input(
        start=filters.start, end=filters.end, probabilities=filters.probabilities,
        slip_adjusted=filters.slip_adjusted, families=list(filters.families) or None,
    )
    return rows, getattr(rows, "probability_source", None) or filters.probabilities


def _totals(rows: list[DemandRow]) -> dict[str, float]:
    keys = ("baseline_units", "weighted_units", "weighted_revenue", "best_case_units", "commit_units",
            "deal_count", "demand_input_units")
    return {key: sum(getattr(row, key) for row in rows) for key in keys}


def _group(rows: list[DemandRow], families: dict) -> list[tuple[str, list[DemandRow]]]:
    """Rows per family, known families first in code order, months in order."""
    by_family: dict[str, list[DemandRow]] = defaultdict(list)
    for row in rows:
        by_family[row.family].append(row)
    return [(code, sorted(by_family[code], key=lambda r: r.period))
            for code in sorted(by_family, key=lambda c: (c not in families, c))]


def family_blocks_for(rows: list[DemandRow], families: dict, rules: dict | None = None) -> list[FamilyBlock]:
    """Plain blocks (no chart, no actuals): what a frozen snapshot shows."""
    blocks = []
    for code, family_rows in _group(rows, families):
        family = families.get(code)
        blocks.append(FamilyBlock(
            code=code, name=family.name if family else code, unit=family.unit if family else "units",
            rule=(rules or {}).get(code, ""), rows=family_rows, actuals={}, chart={},
            totals=_totals(family_rows),
        ))
    return blocks


def family_blocks(filters: DemandFilters, rows: list[DemandRow], families: dict) -> list[FamilyBlock]:
    """Blocks for the live page: each family's rule, actuals (with up to a year of history
    before the horizon) and chart data."""
    rules = {setting.family: setting.combine_rule for setting in services.family_settings()}
    blocks = family_blocks_for(rows, families, rules)
    history = [add_months(filters.start, i - HISTORY_MONTHS) for i in range(HISTORY_MONTHS)]
    actuals = services.actuals_by_family(history[0], filters.end)
    for block in blocks:
        block.actuals = actuals.get(block.code, {})
        known = [i for i, period in enumerate(history) if period in block.actuals]
        drill = {row.period: _drill_url(filters, block.code, row.period) for row in block.rows if row.deal_count}
        block.chart = family_chart(block.code, block.rows, block.actuals, drill,
                                   history=history[known[0]:] if known else [])
    return blocks


@bp.route("/")
@roles(*PLANNERS)
def demand():
    filters, families = _filters()
    rows, source_used = _compute(filters)
    blocks = family_blocks(filters, rows, families)
    period_totals = {p: sum(r.demand_input_units for r in rows if r.period == p) for p in filters.periods}
    return render_template(
        "planning/demand.html", filters=filters, blocks=blocks, families=list(families.values()),
        source_used=source_used, period_totals=period_totals, charts=bool(blocks),
        source_choice=getattr(rows, "source_choice", {}), baseline_note=getattr(rows, "baseline_note", ""),
        rule_label=rule_label, rule_explanation=rule_explanation,
        drill_url_for=lambda code, period: _drill_url(filters, code, period),
        base_currency=base_currency_code(), rate_gaps=missing_exchange_rates(open_only=True),
    )


@bp.route("/demand.csv")
@roles(*PLANNERS)
def demand_download():
    filters, _families = _filters()
    rows, source_used = _compute(filters)
    # The API's own CSV writer: the page, the API and ``planning export`` give the same file.
    return csv_response(rows, f"demand-input-{filters.start}-{filters.end}.csv", source_used)


@bp.route("/demand.xlsx")
@roles(*PLANNERS)
def demand_workbook():
    filters, _families = _filters()
    rows, source_used = _compute(filters)
    return download(exports.demand_xlsx(rows, about_rows(rows)), XLSX,
                    f"demand-input-{filters.start}-{filters.end}.xlsx", source_used)


@bp.route("/forecastplan.csv")
@roles(*PLANNERS)
def demand_frepple():
    """frePPLe's forecast plan list, with the default location and customer (the API and the
    CLI take others)."""
    filters, _families = _filters()
    rows, source_used = _compute(filters)
    return download(exports.frepple_csv(rows), "text/csv", f"forecastplan-{filters.start}-{filters.end}.csv",
                    source_used)


@bp.route("/demand/<family>/<period>")
@roles(*PLANNERS)
def contributions(family: str, period: str):
    families = _families_by_code()
    index = parse_period(period)
    if family not in families or index is None:
        abort(404)
    period = period_text(index)
    try:
        period_in_range(period)  # the months the API's drill-down answers for: no page beyond
    except ValueError:
        abort(404)
    filters = read_filters(request.args, list(families))
    lines = services.demand_contributions(
        family=family, period=period, probabilities=filters.probabilities,
        slip_adjusted=filters.slip_adjusted,
    )
    # The month's own row: how its number is made up, and which probability source was used
    # ("calibrated" falls back to "stage" while history is short).
    month = services.demand_input(start=period, end=period, probabilities=filters.probabilities,
                                  slip_adjusted=filters.slip_adjusted, families=[family])
    source_used = getattr(month, "probability_source", None) or filters.probabilities
    stages = services.stage_figures(month.path, family, period)
    rules = {setting.family: setting.combine_rule for setting in services.family_settings()}
    back = url_for("planning.demand", **filters.query())
    return render_template(
        "planning/contributions.html", family=families[family], period=period, lines=lines,
        filters=filters, source_used=source_used, back=back, row=month[0] if month else None,
        rule=rules.get(family, ""), rule_label=rule_label, stages=stages,
        total_units=sum(line.weighted_units for line in lines),
        total_quantity=sum(line.quantity for line in lines),
        total_amount=sum((line.amount for line in lines), 0),
    )
