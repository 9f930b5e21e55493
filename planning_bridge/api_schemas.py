"""Request and answer shapes of the planning API (pydantic; their JSON schemas go into the
OpenAPI document). Names start with ``Planning`` where they become components, so they never
collide with the CRM's. Money is a string with two decimals, as everywhere in the API.

Every range a request may ask for is bounded before any work (issue #19: ``as_of=9711-02-11``
held a worker for 30 s; issue #23: from the earliest history to five years ahead): an
``as_of`` day lies between the start of the year history begins (the first deal created, or
the first month of imported actuals; at most ``AS_OF_YEARS`` years back, and that window when
there is no history yet) and today; a month (``from``, ``to``, ``period``) between the month history
begins and ``MONTHS_AHEAD`` months after this month; at most ``MAX_HORIZON`` months at once
(the services' check); accuracy scores at most 36 months and 12 lags. Outside: 422 naming the
field and the allowed range.

``as_of_in_range`` and ``period_in_range`` are the one statement of those bounds: the planner
pages (``planning_bridge/pages``) read their query strings with them too, so a page and the
API never disagree on which days and months may be asked for."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Literal

from flask_babel import gettext as _  # the bridge reaches crm only by its port
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from sqlalchemy import func, select

from planning_bridge import crm_port
from planning_bridge.contracts import COMBINE_RULES, DEMAND_COLUMNS
from planning_bridge.exports import FREPPLE_CUSTOMER, FREPPLE_LOCATION, MAX_NAME
from planning_bridge.models import Actual
from planning_bridge.periods import (
    DEFAULT_HORIZON,
    MAX_HORIZON,
    month_index,
    parse_period,
    period_text,
    resolve_range,
)

PERIOD = r"^\d{4}-\d{2}$"
FAMILY_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"

Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: str(Decimal(value).quantize(Decimal("0.01"))), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$"}, mode="serialization"),
]
UtcDateTime = Annotated[
    datetime,
    PlainSerializer(lambda value: value.astimezone(timezone.utc).isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
Source = Literal["chosen", "stage", "calibrated"]
AS_OF_YEARS = 10
MONTHS_AHEAD = 60   # five years ahead
MAX_LAGS = 12


def _today() -> date:
    return crm_port.utcnow().date()


def earliest_day() -> date:
    """Where history begins: the 1st of January of the year of the first deal's creation or
    of the first month of imported actuals, whichever is earlier (a planner asks for whole
    years: "2025" when history starts in November 2025); never more than ``AS_OF_YEARS`` years
    back (and exactly that when there is no history yet)."""
    today = _today()
    try:
        floor = today.replace(year=today.year - AS_OF_YEARS)
    except ValueError:  # 29 February
        floor = today.replace(year=today.year - AS_OF_YEARS, day=28)
    found = [day for day in (crm_port.earliest_deal_day(), _first_actual_day()) if day is not None]
    return max(date(min(found).year, 1, 1), floor) if found else floor


def _first_actual_day() -> date | None:
    first = crm_port.db.session.scalar(select(func.min(Actual.period)))
    index = parse_period(first) if first else None
    return date(index // 12, index % 12 + 1, 1) if index is not None else None


def as_of_in_range(value: date) -> date:
    """``value`` when it lies between the day history begins (``earliest_day``) and today,
    else ValueError saying which days may be asked for."""
    today = _today()
    earliest = min(earliest_day(), today)
    if not earliest <= value <= today:
        raise ValueError(_("a day from %(first)s (where history begins) to today (%(today)s)",
                           first=earliest.isoformat(), today=today.isoformat()))
    return value


def period_in_range(value: str) -> str:
    """``value`` when it is a month from the month history begins to ``MONTHS_AHEAD`` months
    after this month (or not a month at all), else ValueError saying which months may be
    asked for."""
    this_month = month_index(_today())
    first, last = min(month_index(earliest_day()), this_month), this_month + MONTHS_AHEAD
    index = parse_period(value)
    if index is None:
        if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value or ""):  # a month, of a year out of any range
            raise ValueError(_("a month from %(first)s to %(last)s", first=period_text(first), last=period_text(last)))
        return value  # not a month at all: the services name it in their words
    if not first <= index <= last:
        raise ValueError(_("a month from %(first)s to %(last)s", first=period_text(first), last=period_text(last)))
    return value


Period = Annotated[str, Field(pattern=PERIOD, description=f"a month, YYYY-MM, from the month history begins "
                                                          f"to {MONTHS_AHEAD} months after this month"),
                   AfterValidator(period_in_range)]
AnyPeriod = Annotated[str, Field(pattern=PERIOD, description="a month, YYYY-MM")]  # a month of the records
AsOf = Annotated[date, AfterValidator(as_of_in_range)]
OBSERVATION_UNIT = ("a closed deal seen at one semi-monthly review moment while it was open "
                    "(holdout_count); holdout_deals counts the distinct deals")
AS_OF_RANGE = f"from the day history begins (at most {AS_OF_YEARS} years ago) to today"


def _months(start: str | None, end: str | None) -> tuple[str, str]:
    return resolve_range(start, end, _today())


# --- queries and bodies -------------------------------------------------------------------

class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)


class DemandQuery(_Query):
    from_: Period | None = Field(default=None, alias="from", description="first month (default: this month)")
    to: Period | None = Field(default=None, description=f"last month (default: {DEFAULT_HORIZON} months "
                                                f"from `from`; at most {MAX_HORIZON})")
    probabilities: Source = Field("chosen", description="win probabilities: chosen (per family, the source "
                                  "that won the backtest: stage, calibrated or their blend; stage before any "
                                  "backtest), the stage defaults, or calibrated on closed deals (falls back to "
                                  "stage with little history)")
    format: Literal["json", "csv", "frepple", "xlsx"] = Field(
        "json", description="json; csv (the columns below); frepple (frePPLe's forecast plan list: "
                            "item,location,customer,startdate,enddate,forecastoverride); xlsx (a family × "
                            "month sheet per measure)")
    location: str = Field(FREPPLE_LOCATION, min_length=1, max_length=MAX_NAME,
                          description="format=frepple: the location column")
    customer: str = Field(FREPPLE_CUSTOMER, min_length=1, max_length=MAX_NAME,
                          description="format=frepple: the customer column")
    slip_adjusted: bool = Field(False, description="spread each deal over the learned close-date slips")
    as_of: AsOf | None = Field(default=None, description=f"rebuild the pipeline as it stood at the end of this day "
                                                 f"({AS_OF_RANGE})")
    family: str | None = Field(default=None, max_length=2000, description="comma-separated family codes (default: all)")
    allow_missing_rates: bool = Field(False, description="answer even when open deals are in a currency "
                                      "without an exchange rate (their revenue counts 0, their units count); "
                                      "otherwise such deals are a 409 naming the currencies and days")

    def months(self) -> tuple[str, str]:
        return _months(self.from_, self.to)

    def family_list(self) -> list[str] | None:
        codes = [c.strip() for c in (self.family or "").split(",") if c.strip()]
        return codes or None


class ContributionQuery(_Query):
    family: str = Field(pattern=FAMILY_CODE)
    period: Period
    probabilities: Source = "chosen"
    slip_adjusted: bool = False
    as_of: AsOf | None = Field(default=None, description=AS_OF_RANGE)


class ActualsQuery(_Query):
    from_: Period = Field(alias="from")
    to: Period

    @field_validator("to")
    @classmethod
    def _in_order(cls, value: str, info: ValidationInfo) -> str:
        first, last = parse_period(info.data.get("from_") or ""), parse_period(value)
        if first is not None and last is not None and last < first:
            raise ValueError(_("must not be before from"))
        return value


class SnapshotQuery(_Query):
    format: Literal["json", "csv"] = "json"


class CalibrationQuery(_Query):
    as_of: AsOf | None = Field(default=None, description=f"score as it could have been scored at the end of this day "
                                                 f"({AS_OF_RANGE})")


class AccuracyQuery(_Query):
    lags: str = Field("1,2,3", pattern=r"^\s*\d{1,2}(\s*,\s*\d{1,2})*\s*$",
                      description=f"comma-separated lags in months (1 to 12, at most {MAX_LAGS})")
    months: int = Field(12, ge=1, le=36, description="past months with actuals to score")
    slip_adjusted: bool = Field(False, description="time the pipeline with the learned slips")

    def lag_list(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.lags.split(","))

    @field_validator("lags")
    @classmethod
    def _lags_in_range(cls, value: str) -> str:
        parts = value.split(",")
        if not all(1 <= int(part) <= 12 for part in parts):
            raise ValueError(_("each lag between 1 and 12"))
        if len(parts) > MAX_LAGS:
            raise ValueError(_("at most %(max)s lags", max=MAX_LAGS))
        return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SnapshotIn(_Body):
    from_: Period | None = Field(default=None, alias="from", description="first month (default: this month)")
    to: Period | None = Field(default=None, description="last month (default: 18 months from `from`)")
    probabilities: Source = "chosen"
    slip_adjusted: bool = False

    def months(self) -> tuple[str, str]:
        return _months(self.from_, self.to)


class FamilySettingIn(_Body):
    combine_rule: Literal[COMBINE_RULES]  # type: ignore[valid-type]
    commit_stage: Annotated[str, Field(min_length=1, max_length=60)] | None = Field(
        None, description="stage from which deals count as commit (null: the default)")


class OutlierIn(_Body):
    period: AnyPeriod
    accepted: bool = Field(description="true: it is an outlier (the baseline reads `value`, or its "
                           "own fitted value); false: keep the actual (or read `value`, a correction)")
    value: Annotated[float, Field(ge=0, le=1e12)] | None = None


# --- answers ------------------------------------------------------------------------------

class PlanningDemandRowOut(BaseModel):
    """One family and month, exactly the published columns."""

    family: str
    period: str
    baseline_units: float
    weighted_units: float
    weighted_revenue: Money
    best_case_units: float
    commit_units: float
    low_units: float
    high_units: float
    deal_count: int
    demand_input_units: float
    snapshot_id: int | None
    currency: str = Field(description="ISO 4217 code of the base currency weighted_revenue is in")


class PlanningDemandOut(BaseModel):
    probabilities: str = Field(description="the source asked for")
    probability_source: str = Field(description="the source used (calibrated falls back to stage)")
    probability_method: str
    model_version: str
    as_of: date
    slip_adjusted: bool
    columns: list[str]
    rows: list[PlanningDemandRowOut]


def row_out(row) -> PlanningDemandRowOut:
    return PlanningDemandRowOut(**{column: getattr(row, column) for column in DEMAND_COLUMNS})


def demand_out(rows) -> PlanningDemandOut:
    return PlanningDemandOut(
        probabilities=rows.probabilities, probability_source=rows.probability_source,
        probability_method=rows.probability_method, model_version=rows.model_version,
        as_of=rows.as_of, slip_adjusted=rows.slip_adjusted, columns=list(DEMAND_COLUMNS),
        rows=[row_out(r) for r in rows],
    )


class PlanningContributionOut(BaseModel):
    deal_id: str
    deal_name: str
    family: str
    period: str
    stage: str
    probability: float
    quantity: float
    weighted_units: float
    amount: Money
    owner: str
    expected_close: date


class PlanningContributionsOut(BaseModel):
    items: list[PlanningContributionOut]


class PlanningActualsOut(BaseModel):
    families: dict[str, dict[str, float]] = Field(description="family -> period -> units")


class PlanningImportOut(BaseModel):
    kind: str
    rows: int
    accepted: int
    replaced: int


class PlanningSourceRankOut(BaseModel):
    source: str
    wmape: float = Field(description="mean WMAPE of the demand input at the choice's lags (0.12 = 12 %)")


class PlanningSourceRefusedOut(BaseModel):
    source: str
    ece: float = Field(description="its expected calibration error on the holdout")
    stage_ece: float = Field(description="the stage defaults' error, which it may not exceed")


class PlanningChoiceWhyOut(BaseModel):
    """Why a family's source was chosen, as data (the ``reason`` text says the same in words)."""

    kind: Literal["lowest_wmape", "too_little_history", "not_computed", "family_not_computed", "text"] = Field(
        description="lowest_wmape: the lowest demand-input WMAPE among the sources honest enough; "
                    "too_little_history: fewer scored months than needed, so the stage defaults; "
                    "not_computed / family_not_computed: no backtest yet (for this family); "
                    "text: a reason stored as an English sentence by an older version, in `text`")
    lags: list[int] | None = Field(default=None, description="lowest_wmape: the lags scored")
    months: int | None = Field(default=None, description="lowest_wmape, too_little_history: months scored")
    needed: int | None = Field(default=None, description="too_little_history: months needed")
    ranking: list[PlanningSourceRankOut] | None = Field(default=None,
                                                        description="lowest_wmape: every source, best first")
    refused: list[PlanningSourceRefusedOut] | None = Field(
        default=None, description="lowest_wmape: sources that may not win, less honest than the stage defaults")
    text: str | None = Field(default=None, description="text: the stored sentence")


class PlanningSourceChoiceOut(BaseModel):
    family: str
    source: str
    reason: str = Field(description="why, in words, in the caller's language (Accept-Language or their own)")
    why: PlanningChoiceWhyOut
    wmape: dict[str, float]

    @classmethod
    def of(cls, choice) -> PlanningSourceChoiceOut:
        """From a ``source_choice.SourceChoice``: the data and its sentence in the caller's language."""
        return cls(family=choice.family, source=choice.source, reason=choice.reason,
                   why=PlanningChoiceWhyOut.model_validate(choice.why), wmape=choice.wmape)


class PlanningSnapshotOut(BaseModel):
    id: int
    taken_at: UtcDateTime
    taken_by: str | None
    as_of: date
    start: str
    end: str
    probabilities: str
    probabilities_used: str
    model_version: str
    scheduled: bool
    row_count: int


class PlanningSnapshotsOut(BaseModel):
    items: list[PlanningSnapshotOut]


class PlanningSnapshotRowsOut(BaseModel):
    snapshot: PlanningSnapshotOut
    columns: list[str]
    rows: list[PlanningDemandRowOut]
    source_choice: list[PlanningSourceChoiceOut] = Field(
        default=[], description="probabilities=chosen: each family's source when the snapshot was taken, and why "
                                "(`wmape` empty: the evidence stays with the accuracy figures)")


class PlanningReliabilityOut(BaseModel):
    lower: float
    upper: float
    count: int
    mean_predicted: float
    actual_rate: float


class PlanningCalibrationReportOut(BaseModel):
    source: str
    brier: float
    holdout_from: date
    holdout_count: int
    buckets: list[PlanningReliabilityOut]
    method: str
    train_count: int
    holdout_deals: int
    holdout_until: date | None = None
    ece: float = 0.0


class PlanningCalibrationOut(BaseModel):
    reports: list[PlanningCalibrationReportOut]
    as_of: date | None = Field(default=None,
                               description="the day the figures were scored as of (null: none stored yet)")
    computed_at: UtcDateTime | None = Field(default=None, description="when the worker computed them")
    seconds: float | None = Field(default=None, description="how long the computation took")
    observation_unit: str = Field(default=OBSERVATION_UNIT, description="what holdout_count counts")
    notes: list[str] = []


class PlanningAccuracyCellOut(BaseModel):
    origin: str
    family: str
    lag: int
    forecast: str
    months: int
    actual_units: float
    forecast_units: float
    wmape: float | None
    bias: float | None


class PlanningValueAddedOut(BaseModel):
    origin: str
    family: str
    lag: int
    candidate: str
    reference: str
    fva: float | None


class PlanningAccuracyOut(BaseModel):
    lags: list[int]
    cells: list[PlanningAccuracyCellOut]
    value_added: list[PlanningValueAddedOut]
    months: list[str]
    snapshot_count: int
    notes: list[str]
    as_of: date | None = Field(default=None,
                               description="the day the figures were scored as of (null: none stored yet)")
    computed_at: UtcDateTime | None = Field(default=None, description="when the worker computed them")
    seconds: float | None = Field(default=None, description="how long the computation took")
    choice: list[PlanningSourceChoiceOut] = Field(default=[], description="per family, the probability source the "
                                                  "backtest chose and why")


class FiguresIn(_Body):
    lags: list[Annotated[int, Field(ge=1, le=12)]] = Field([1, 2, 3], min_length=1, max_length=MAX_LAGS)
    months: int = Field(12, ge=1, le=36)
    slip_adjusted: bool = False


class PlanningFiguresJobOut(BaseModel):
    job_id: int
    status: str
    status_url: str


class PlanningFamilySettingOut(BaseModel):
    family: str
    name: str
    unit: str
    lead_time_days: int
    combine_rule: str
    commit_stage: str | None
    is_default: bool


class PlanningFamilySettingsOut(BaseModel):
    items: list[PlanningFamilySettingOut]


class PlanningOutlierOut(BaseModel):
    family: str
    period: str
    original_units: float
    flagged: bool
    suggested_units: float | None
    accepted: bool | None
    override_units: float | None
    effective_units: float
    decided_by: str | None = None
    decided_at: UtcDateTime | None = None
    decided_on_units: float | None = Field(default=None, description="the actual the decision was made on")
    needs_review: bool = Field(False, description="the actual changed since the decision (a later import): "
                                                  "the decision is not applied until decided again")


class PlanningOutliersOut(BaseModel):
    items: list[PlanningOutlierOut]
