"""The shapes the bridge's parts exchange. Plain frozen dataclasses, no ORM, so each part
(baseline, probabilities, demand input, pages, API, CLI) can be built and tested alone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l  # the bridge reaches crm only by its port

DEMAND_COLUMNS = (
    "family", "period", "baseline_units", "weighted_units", "weighted_revenue", "best_case_units",
    "commit_units", "low_units", "high_units", "deal_count", "demand_input_units", "snapshot_id",
    "currency",
)
PROBABILITY_SOURCES = ("chosen", "stage", "calibrated")
#: What ``chosen`` picks from, per family, by backtest evidence (``source_choice.py``): the
#: stage defaults, the calibrated probabilities, or their average.
CANDIDATE_SOURCES = ("stage", "calibrated", "blend")
COMBINE_RULES = ("pipeline", "baseline", "baseline_plus_pipeline")
#: How the codes read on pages (the manifest's ``code_labels``; ``crm_port.code_label``).
CODE_LABELS = {"probability_source": {
    "stage": _l("Stage defaults"), "calibrated": _l("Calibrated"),
    "blend": _l("Blend (average of stage and calibrated)"), "chosen": _l("Chosen per family")}}


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
    currency: str = ""               # the base currency weighted_revenue is in (ISO 4217)


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
    # added by the core part: how the probabilities were made and what they were learned from
    method: str = ""                 # e.g. "stage defaults", "logistic regression, sigmoid-calibrated"
    train_count: int = 0             # observations the calibrated source learned from
    holdout_deals: int = 0           # distinct deals behind the holdout observations
    holdout_until: date | None = None  # last moment of the holdout (later ones have not settled)
    # added for issue #23: the expected calibration error (Σ over buckets of the share of
    # observations × |mean predicted − share won|; 0 is perfect) and the closed deals behind
    # the holdout (the observation unit is a deal seen at a review moment: ``holdout_count``)
    ece: float = 0.0


# --- added by the core part (issue 5) -------------------------------------------------------

@dataclass(frozen=True)
class ImportRejection:
    """One bad row of an imported CSV file: its line number in the file (the header is line 1)."""

    line: int
    message: str


@dataclass(frozen=True)
class ImportResult:
    """What an import did. A file with any bad row changes nothing: ``accepted`` is 0 and
    ``rejected`` lists every bad row."""

    kind: str                        # "deals" or "actuals"
    rows: int                        # data rows read
    accepted: int                    # rows written (0 when any row was rejected)
    rejected: tuple[ImportRejection, ...] = ()
    replaced: int = 0                # earlier rows this import replaced

    @property
    def ok(self) -> bool:
        return not self.rejected


@dataclass(frozen=True)
class FamilySettings:
    """How a family's demand input is built (defaults filled in for families never set)."""

    family: str
    name: str
    unit: str
    lead_time_days: int
    combine_rule: str                # one of COMBINE_RULES
    commit_stage: str | None         # lines in this stage or later count as commit
    is_default: bool                 # True when nobody saved a setting for the family


@dataclass(frozen=True)
class OutlierFlag:
    """One month of a family's actuals, flagged as far from its seasonal pattern and/or
    decided on by a planner. ``effective_units`` is what the baseline reads."""

    family: str
    period: str
    original_units: float
    flagged: bool
    suggested_units: float | None    # the baseline's fitted value there: the replacement on accept
    accepted: bool | None            # None: nobody decided yet
    override_units: float | None
    effective_units: float
    decided_by: str | None = None
    decided_at: datetime | None = None
    # The actual the decision was made on, and whether it has changed since (a later import):
    # then the decision is not applied and waits for the planner's review.
    decided_on_units: float | None = None
    needs_review: bool = False


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    taken_at: datetime
    taken_by: str | None             # None for the scheduled job
    as_of: date
    start: str
    end: str
    probabilities: str               # asked for
    probabilities_used: str          # after the fallback to "stage" when history is short
    model_version: str
    scheduled: bool
    row_count: int


ACCURACY_FORECASTS = ("baseline", "stage", "calibrated", "blend")
ACCURACY_ORIGINS = ("snapshots", "rebuilt")


@dataclass(frozen=True)
class AccuracyCell:
    """How one forecast did for one family at one lag over the months evaluated.

    ``forecast``: ``baseline`` (statistical baseline from all actuals alone), ``stage`` and
    ``calibrated`` (baseline from actuals not from CRM deals + weighted pipeline with that
    probability source). WMAPE = Σ|F − A| / ΣA; bias = Σ(F − A) / ΣA (positive: too high).
    Both are None when the actuals sum to zero. ``family`` "ALL" pools every family."""

    origin: str                      # "snapshots" or "rebuilt"
    family: str
    lag: int
    forecast: str
    months: int
    actual_units: float
    forecast_units: float
    wmape: float | None
    bias: float | None


@dataclass(frozen=True)
class ValueAdded:
    """Forecast value added: the WMAPE of the reference minus the WMAPE of the candidate, in
    points (0.05 = five points better). Positive means the candidate adds value."""

    origin: str
    family: str
    lag: int
    candidate: str                   # "calibrated" / "stage"
    reference: str                   # "stage" / "baseline"
    fva: float | None


@dataclass(frozen=True)
class AccuracyReport:
    lags: tuple[int, ...]
    cells: tuple[AccuracyCell, ...]
    value_added: tuple[ValueAdded, ...]
    months: tuple[str, ...]          # target months evaluated (with actuals), oldest first
    snapshot_count: int
    notes: tuple[str, ...] = ()
