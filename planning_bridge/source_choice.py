"""Which probability source each family's demand input uses by default (``chosen``): the one
that wins the backtest for that family.

Evidence, per family, from the stored accuracy figures (``figures.py``; the pipeline rebuilt
as of each past month end, so every source is scored on the same months):

1. the mean WMAPE of the demand input at lags 1-3 (``CHOICE_LAGS``) for ``stage``,
   ``calibrated`` and ``blend`` (their average);
2. a learned source (``calibrated``, ``blend``) may only win when its probabilities are not
   less honest than the stage defaults on the calibration holdout (expected calibration
   error no higher), so a lucky WMAPE cannot promote overconfident probabilities;
3. with fewer than ``MIN_MONTHS`` scored months for the family (or no actual demand in them),
   there is too little evidence: ``stage``.

Ties (within ``TIE`` points of WMAPE) go to the simpler source, stage before blend before
calibrated. The choice is re-made whenever the figures are computed (each month end), and
each snapshot records the choice and its reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.contracts import CANDIDATE_SOURCES, AccuracyReport, CalibrationReport
from planning_bridge.models import StoredFigures

CHOICE_LAGS = (1, 2, 3)
#: The stored accuracy figures the choice is read from (``figures.DEFAULT_ACCURACY_KEY``).
DEFAULT_KEY = "lags=1,2,3;months=12;slip=0"
MIN_MONTHS = 6
TIE = 0.005
ORIGIN = "rebuilt"


@dataclass(frozen=True)
class SourceChoice:
    family: str
    source: str                      # one of CANDIDATE_SOURCES
    reason: str
    wmape: dict[str, float]          # source -> mean WMAPE at lags 1-3 (the evidence)


def choose_sources(report: AccuracyReport | None, calibration: list[CalibrationReport] | None,
                   families: list[str]) -> dict[str, SourceChoice]:
    """Each family's source and why (see the module docstring)."""
    return {family: _choose(family, report, calibration or []) for family in families}


def _choose(family: str, report: AccuracyReport | None, calibration: list[CalibrationReport]) -> SourceChoice:
    if report is None:
        return SourceChoice(family, "stage", "no backtest computed yet: the stage defaults", {})
    scores: dict[str, list[float]] = {}
    months = 0
    for cell in report.cells:
        if cell.origin != ORIGIN or cell.family != family or cell.lag not in CHOICE_LAGS:
            continue
        if cell.forecast in CANDIDATE_SOURCES and cell.wmape is not None:
            scores.setdefault(cell.forecast, []).append(cell.wmape)
            months = max(months, cell.months)
    if months < MIN_MONTHS or "stage" not in scores:
        return SourceChoice(family, "stage", f"too little history to choose by ({months} month(s) scored, "
                            f"{MIN_MONTHS} needed): the stage defaults", {})
    wmape = {source: sum(values) / len(values) for source, values in scores.items()}
    ece = {r.source: r.ece for r in calibration if r.holdout_count}
    eligible, refused = ["stage"], []
    for source in ("blend", "calibrated"):
        if source not in wmape:
            continue
        if source in ece and "stage" in ece and ece[source] > ece["stage"]:
            refused.append(f"{source} is less honest on the holdout (calibration error "
                           f"{ece[source] * 100:.1f} % against {ece['stage'] * 100:.1f} %)")
            continue
        eligible.append(source)
    lowest = min(wmape[source] for source in eligible)
    best = next(source for source in eligible if wmape[source] <= lowest + TIE)
    lags = "-".join(str(lag) for lag in CHOICE_LAGS)
    ranked = sorted(wmape, key=lambda source: wmape[source])
    ranking = ", ".join(f"{source} {wmape[source] * 100:.1f} %" for source in ranked)
    reason = f"lowest WMAPE at lags {lags} over {months} months ({ranking})"
    if refused:
        reason += "; " + "; ".join(refused)
    return SourceChoice(family, best, reason, wmape)


def current_choice(as_of: date | None = None) -> tuple[dict[str, SourceChoice], datetime | None]:
    """Each family's chosen source from the latest default figures computed by ``as_of``
    (default: the latest of all), and when they were computed; ({}, None) before any."""
    query = select(StoredFigures).where(StoredFigures.kind == "accuracy", StoredFigures.key == DEFAULT_KEY)
    if as_of is not None:
        query = query.where(StoredFigures.as_of <= as_of)
    row = crm_port.db.session.scalar(
        query.order_by(StoredFigures.as_of.desc(), StoredFigures.computed_at.desc()).limit(1))
    if row is None:
        return {}, None
    raw = row.payload.get("choice") or {}
    return {family: SourceChoice(**value) for family, value in raw.items()}, row.computed_at


def source_for(choice: dict[str, SourceChoice], family: str) -> SourceChoice:
    return choice.get(family) or SourceChoice(
        family, "stage", "no backtest computed for this family yet: the stage defaults", {})
