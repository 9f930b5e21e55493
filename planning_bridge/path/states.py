"""Stage 1, deal states as of a date: which deals were open at the end of the day the numbers
are for (today's CRM when live, the CRM replayed from its history for a past date), and how to
read them as pipeline rows (``inputs.py``), with the model features when a model prices them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np

from planning_bridge import crm_port, inputs
from planning_bridge.inputs import PipelineRows
from planning_bridge.observations import Features, features_of_states


@dataclass(frozen=True)
class DealStates:
    """What was asked, and the open deals at the end of ``day`` (``states``: replayed
    ``DealState`` records for a past date; None when live: today's CRM is read as rows)."""

    day: date
    live: bool
    probabilities: str
    slip_adjusted: bool
    per_deal: bool
    states: list | None


def deal_states(day: date, live: bool, *, probabilities: str, slip_adjusted: bool, per_deal: bool) -> DealStates:
    return DealStates(day, live, probabilities, slip_adjusted, per_deal,
                      None if live else inputs.open_states_as_of(day))


def pipeline_rows(states: DealStates, use_model: bool, defaults) -> tuple[PipelineRows, tuple | None]:
    """The open pipeline rows (CRM and imported deals), and (deal ids, features) when a model
    will price them. ``per_deal`` forces one row per deal (the drill-down); otherwise large live
    pipelines read with stage probabilities are aggregated in the database."""
    crm_rows, features = _crm_rows(states, use_model, defaults)
    return inputs.concat([crm_rows, inputs.imported_rows(None if states.live else states.day)]), features


def _crm_rows(states: DealStates, use_model: bool, defaults):
    """The CRM's open pipeline rows, and (deal ids, features) when a model will price them."""
    day = states.day
    if not states.live:
        assert states.states is not None
        features = (np.array([int(s.deal_id) for s in states.states], np.int64),
                    features_of_states(states.states, crm_port.end_of_day(day))) if use_model else None
        return inputs.rows_from_states(states.states, defaults), features
    if not use_model:
        return inputs.crm_rows_now(aggregate=False if states.per_deal else None), None
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
