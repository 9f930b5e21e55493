"""Chart data for the pages, as plain JSON-ready dicts. The page embeds them in a
``<script type="application/json">`` block (the CSP forbids inline scripts) and
``crm/static/planning.js`` draws them with the vendored Chart.js."""
from __future__ import annotations

from planning_bridge.contracts import CalibrationReport, DemandRow


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def family_chart(family: str, rows: list[DemandRow], actuals: dict[str, float],
                 drill_urls: dict[str, str], history: tuple[str, ...] | list[str] = ()) -> dict:
    """One family's demand chart: baseline and weighted pipeline stacked as bars, the pipeline's
    10-90 % band drawn on top of the baseline (so it brackets the pipeline part of the stack),
    the suggested demand input as a line and the actuals where known.

    ``history`` are earlier months shown with their actuals only, so the forecast reads
    against what really shipped."""
    by_period = {row.period: row for row in rows}
    labels = list(history) + [row.period for row in rows]

    def series(value) -> list:
        return [_round(value(by_period[p])) if p in by_period else None for p in labels]

    return {
        "family": family,
        "labels": labels,
        "baseline": series(lambda r: r.baseline_units),
        "weighted": series(lambda r: r.weighted_units),
        "low": series(lambda r: r.baseline_units + r.low_units),
        "high": series(lambda r: r.baseline_units + r.high_units),
        "demand_input": series(lambda r: r.demand_input_units),
        "actual": _actual_series(labels, actuals),
        "drill": [drill_urls.get(p) for p in labels],
    }


def _actual_series(labels: list[str], actuals: dict[str, float]) -> list[float | None]:
    """Actual units per label: a month without orders between the first and the last month
    with some is a real zero (the bridge's histories read it so too); outside, unknown."""
    known = [i for i, period in enumerate(labels) if period in actuals]
    if not known:
        return [None] * len(labels)
    return [_round(actuals.get(p, 0.0)) if known[0] <= i <= known[-1] else None for i, p in enumerate(labels)]


def reliability_chart(reports: list[CalibrationReport]) -> dict:
    """Predicted against actual win rate per bucket for each source, and the diagonal."""
    return {
        "sources": [
            {
                "source": report.source,
                "points": [
                    {"x": _round(b.mean_predicted), "y": _round(b.actual_rate), "n": b.count}
                    for b in report.buckets if b.count
                ],
            }
            for report in reports
        ],
    }
