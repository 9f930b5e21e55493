"""The shapes the bridge's parts exchange. Plain frozen dataclasses, no ORM, so each part
(baseline, probabilities, demand input, pages, API, CLI) can be built and tested alone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

DEMAND_COLUMNS = (
    "family", "period", "baseline_units", "weighted_units", "weighted_revenue", "best_case_units",
    "commit_units", "low_units", "high_units", "deal_count", "demand_input_units", "snapshot_id",
)
PROBABILITY_SOURCES = ("stage", "calibrated")
COMBINE_RULES = ("pipeline", "baseline", "baseline_plus_pipeline")


@dataclass(frozen=True)
class BaselineForecast:
    """A statistical baseline for one family: ``fitted`` has one value per month of history
    (the model's in-sample value), ``forecast`` one per month after the history."""

    fitted: tuple[float, ...]
    forecast: tuple[float, ...]
    method: str                      # e.g. "ets(A,Ad,M)", "theta", "combo", "seasonal_naive"
    outliers: tuple[int, ...] = ()   # indices into the history flagged as outliers


@dataclass(frozen=True)
class DemandRow:
    """One family and month of demand-plan input (the CSV/API columns, in DEMAND_COLUMNS order)."""

    family: str
    period: str                      # "YYYY-MM"
    baseline_units: float
    weighted_units: float
    weighted_revenue: Decimal
    best_case_units: float
    commit_units: float
    low_units: float
    high_units: float
    deal_count: int
    demand_input_units: float
    snapshot_id: int | None = None


@dataclass(frozen=True)
class DealContribution:
    """One deal line behind a demand number (the planner's drill-down; no contact details)."""

    deal_id: str
    deal_name: str
    family: str
    period: str
    stage: str
    probability: float
    quantity: float
    weighted_units: float
    amount: Decimal
    owner: str
    expected_close: date


@dataclass(frozen=True)
class ReliabilityBucket:
    lower: float
    upper: float
    count: int
    mean_predicted: float
    actual_rate: float


@dataclass(frozen=True)
class CalibrationReport:
    source: str                      # "stage" or "calibrated"
    brier: float
    holdout_from: date
    holdout_count: int
    buckets: tuple[ReliabilityBucket, ...]
