"""Stage 1, deal states as of a date: what the CRM and the bridge say at the end of the day the
numbers are for. Every database read of the path happens here, once, at the start: the later
stages are pure functions of the stage before them (``tests/planning_bridge/test_demand_path.py``
checks their imports and runs them with the database closed). What is read follows from what
was asked (source of probabilities, slip-adjusted timing, one row per deal, how far the path
runs), so nothing is read that no stage will use:

* the product families: the ones asked (all by default), their lead times, which are inactive;
* the pipeline stages in order with their default probabilities (``inputs.stage_probabilities``)
  and each family's settings: commit stage and combine rule (``settings.py``);
* with ``chosen``: each family's source as chosen by the figures computed by the day
  (``source_choice.current_choice``);
* with ``calibrated``, or ``chosen`` when a family takes a learned source: what ``calibrated``
  resolves to as of the day (``probabilities.learned_for``): the model fitted on the settled
  observations, memoised per state of the CRM's history, or the stage defaults when history is
  too short;
* the open deals at the end of the day as pipeline rows (``inputs.py``): today's CRM when live,
  the CRM replayed from its history for a past date, plus the deals imported from another CRM
  (with their own probability). A row per deal and family, with the model's features, when the
  learned model prices the rows; a row per deal too when the drill-down asks it or ``chosen``
  mixes sources; otherwise a large live pipeline is read aggregated by the database;
* when a CRM row's expected close has passed: the overdue factor, the win rate overdue deals
  really had against their stage defaults (``probabilities.overdue_factor_for``, memoised as
  the model);
* with slip-adjusted timing: the closed deals seen at past review moments (``observations.py``),
  which stage 2 keeps the settled ones of and stage 4 learns the slips from;
* when the path runs to the combine stage: each family's history of actuals (imported ERP
  orders, else the won deals) with the planner's outlier decisions, the won units already booked
  per demand month (``history.py``), and the base currency of the amounts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np
from flask_babel import gettext as _  # the bridge reaches crm only by its port

from planning_bridge import crm_port, inputs
from planning_bridge.contracts import FamilySettings
from planning_bridge.history import FamilyHistory, family_histories, won_units
from planning_bridge.inputs import PipelineRows
from planning_bridge.observations import Features, Observations, features_of_states, observations_as_of
from planning_bridge.probabilities import Learned, OverdueFactor, learned_for, overdue_factor_for
from planning_bridge.settings import settings_by_family
from planning_bridge.source_choice import SourceChoice, current_choice

NO_OVERDUE = OverdueFactor(1.0, 0)


@dataclass(frozen=True)
class Actuals:
    """What the combine stage adds to the pipeline: per family its history of actuals, the won
    units already booked per demand month, and the currency the amounts are in."""

    histories: dict[str, FamilyHistory]
    booked: dict[str, dict[int, float]]
    currency: str


@dataclass(frozen=True)
class DealStates:
    """What was asked, and everything the later stages need, read at the end of ``day``."""

    # What was asked.
    day: date
    live: bool                         # today's CRM (True) or the CRM replayed to ``day``
    probabilities: str                 # "stage", "calibrated" or "chosen"
    slip_adjusted: bool
    per_deal: bool                     # one row per deal, never aggregated (the drill-down)
    first: int                         # the months placed, ``first``..``last`` (month indexes)
    last: int
    through: str                       # the last stage run (``path.STAGES``)
    # What was read.
    wanted: list[str]                  # the families asked (every known one by default), in code order
    lead_times: dict[str, int]         # family -> delivery lead time, days
    inactive: frozenset[str]           # families switched off
    defaults: dict[str, float]         # stage -> default probability, in pipeline order
    settings: dict[str, FamilySettings]
    choice: dict[str, SourceChoice]    # "chosen": the stored choice per family ({} before any)
    learned: Learned | None            # what "calibrated" resolved to; None: no row priced by it
    rows: PipelineRows                 # the open pipeline, CRM and imported deals
    features: tuple[np.ndarray, Features] | None  # (deal ids, features) when the model prices them
    overdue: OverdueFactor             # for CRM rows past their expected close
    observations: Observations | None  # closed deals at past review moments (slip-adjusted timing)
    actuals: Actuals | None            # when the path runs to the combine stage

    @property
    def model_prices(self) -> bool:
        """The learned model prices the CRM rows (not its fallback to the stage defaults)."""
        return prices_with_model(self.learned)


def prices_with_model(learned: Learned | None) -> bool:
    return learned is not None and learned.source == "calibrated"


def deal_states(
    day: date, live: bool, *, probabilities: str, slip_adjusted: bool, per_deal: bool = False,
    families: list[str] | None = None, lead_times: dict[str, int] | None = None,
    first: int = 0, last: int = -1, through: str = "combine",
) -> DealStates:
    """Read what the stages up to ``through`` need (see the module docstring). ``families``: the
    families asked (unknown ones are refused); ``lead_times`` replaces the families' own."""
    family_list = crm_port.product_families()
    wanted = select_families(family_list, families)
    if lead_times is None:
        lead_times = {f.code: f.lead_time_days for f in family_list}
    defaults = inputs.stage_probabilities()
    choice = current_choice(day)[0] if probabilities == "chosen" else {}
    priced_by = pricing_source(probabilities, choice)
    learned = learned_for(day, defaults) if priced_by == "calibrated" else None
    one_per_deal = per_deal or (probabilities == "chosen" and priced_by == "calibrated")
    rows, features = pipeline_rows(day, live, one_per_deal, prices_with_model(learned), defaults)
    overdue = overdue_factor_for(day, defaults) if crm_rows_overdue(rows, day).any() else NO_OVERDUE
    return DealStates(
        day=day, live=live, probabilities=probabilities, slip_adjusted=slip_adjusted, per_deal=per_deal,
        first=first, last=last, through=through,
        wanted=wanted, lead_times=lead_times, inactive=frozenset(f.code for f in family_list if not f.is_active),
        defaults=defaults, settings=settings_by_family(), choice=choice, learned=learned,
        rows=rows, features=features, overdue=overdue,
        observations=observations_as_of(day) if slip_adjusted else None,
        actuals=Actuals(family_histories(lead_times, day), won_units(lead_times, day),
                        crm_port.base_currency_code()) if through == "combine" else None,
    )


def select_families(family_list, families: list[str] | None) -> list[str]:
    """The families asked for (all known ones by default), in code order."""
    known = [f.code for f in family_list]
    if families:
        unknown = sorted(set(families) - set(known))
        if unknown:
            raise crm_port.ValidationFailed(_("unknown product family"), {"family": ", ".join(unknown)[:200]})
        return [code for code in known if code in set(families)]
    return known


def pricing_source(probabilities: str, choice: dict[str, SourceChoice]) -> str:
    """The source the rows are read and priced for: ``chosen`` needs the calibrated
    probabilities (each row carries its stage one too) as soon as one family takes a learned
    source, else the stage defaults."""
    if probabilities != "chosen":
        return probabilities
    return "calibrated" if any(c.source != "stage" for c in choice.values()) else "stage"


def crm_rows_overdue(rows: PipelineRows, day: date) -> np.ndarray:
    """CRM rows (not imported ones) whose expected close is before ``day``, still open."""
    return (rows.close < np.datetime64(day, "D")) & (rows.deal > -2)


def pipeline_rows(day: date, live: bool, per_deal: bool, use_model: bool,
                  defaults: dict[str, float]) -> tuple[PipelineRows, tuple | None]:
    """The open pipeline rows (CRM and imported deals), and (deal ids, features) when a model
    will price them. ``per_deal`` forces one row per deal; otherwise large live pipelines read
    with stage probabilities are aggregated in the database."""
    crm_rows, features = _crm_rows(day, live, per_deal, use_model, defaults)
    return inputs.concat([crm_rows, inputs.imported_rows(None if live else day)]), features
def _crm_rows(day: date, live: bool, per_deal: bool, use_model: bool, defaults: dict[str, float]):
    """The CRM's open pipeline rows, and (deal ids, features) when a model will price them."""
    if not live:
        states = inputs.open_states_as_of(day)  # replayed ``DealState`` records
        features = (np.array([int(s.deal_id) for s in states], np.int64),
                    features_of_states(states, crm_port.end_of_day(day))) if use_model else None
        return inputs.rows_from_states(states, defaults), features
    if not use_model:
        return inputs.crm_rows_now(aggregate=False if per_deal else None), None
    lines = crm_port.open_line_columns()
    return inputs.rows_from_columns(lines), _features_now(crm_port.end_of_day(day), lines)


def _features_now(moment: datetime, lines) -> tuple[np.ndarray, Features]:
    """Today's open deals' features, measured at ``moment`` (the end of the day, as for a
    rebuilt date, so both paths agree). ``lines`` (``LineColumns``) give each deal's main
    family: the one with the largest amount."""
    columns = crm_port.open_deal_features()
    now: np.datetime64 = np.datetime64(moment.astimezone(timezone.utc).replace(tzinfo=None), "s")
    seconds = np.timedelta64(86_400, "s")

    def days(since: np.ndarray) -> np.ndarray:
        return np.maximum(np.true_divide(now - since, seconds), 0.0)

    stage_names = np.array(columns.stage_names + ("",), dtype=object)
    overdue = np.maximum((now.astype("datetime64[D]") - _deal_close(columns.deal_id, lines)).astype(float), 0.0)
    touched = ~np.isnat(columns.last_activity)
    since_touch = np.full(columns.deal_id.size, np.nan)
    since_touch[touched] = days(columns.last_activity[touched])
    return columns.deal_id, Features(
        stage=stage_names[columns.stage], family=_main_families(columns.deal_id, lines),
        days_in_stage=days(columns.stage_entered_at), age_days=days(columns.created_at),
        amount=columns.amount, days_since_touch=since_touch, days_overdue=np.nan_to_num(overdue),
    )


def _deal_close(deal_ids: np.ndarray, lines) -> np.ndarray:
    """Per deal (in ``deal_ids`` order), its expected close (from any of its open lines)."""
    closes = np.full(deal_ids.size, np.datetime64("NaT"), dtype="datetime64[D]")
    if lines.deal_id.size == 0 or deal_ids.size == 0:
        return closes
    order = np.argsort(lines.deal_id, kind="stable")
    sorted_ids = lines.deal_id[order]
    where = np.clip(np.searchsorted(sorted_ids, deal_ids), 0, sorted_ids.size - 1)
    found = sorted_ids[where] == deal_ids
    closes[found] = lines.expected_close[order][where[found]]
    return closes


def _main_families(deal_ids: np.ndarray, lines) -> np.ndarray:
    """Per deal (in ``deal_ids`` order), the family code of its largest line amount."""
    codes = np.array(tuple(lines.family_codes) + ("",), dtype=object)
    if lines.deal_id.size == 0:
        return codes[np.full(deal_ids.size, -1)]
    order = np.lexsort((-lines.amount, lines.deal_id))  # by deal, largest amount first
    first = order[np.r_[True, lines.deal_id[order][1:] != lines.deal_id[order][:-1]]]
    where = np.clip(np.searchsorted(lines.deal_id[first], deal_ids), 0, first.size - 1)
    found = lines.deal_id[first][where] == deal_ids
    return codes[np.where(found, lines.family[first][where], -1)]
