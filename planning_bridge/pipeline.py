"""The open pipeline with what the demand input needs per row: its win probability under the
chosen source, whether it counts as commit, and the learned slips when asked for."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone

import numpy as np

from planning_bridge import crm_port, inputs
from planning_bridge.inputs import PipelineRows
from planning_bridge.observations import Features, features_of_states, observations_as_of, settled
from planning_bridge.probabilities import MODEL_VERSION, OverdueFactor, learned_for, overdue_factor_for
from planning_bridge.settings import settings_by_family
from planning_bridge.source_choice import current_choice, source_for
from planning_bridge.timing import SlipDistribution, learn_slips


@dataclass(frozen=True)
class ProbabilityPlan:
    rows: PipelineRows
    p: np.ndarray                    # win probability per row
    commit: np.ndarray               # bool per row: in the family's commit stage or later
    source: str                      # the source used: "stage", "calibrated" or "chosen"
    method: str
    version: str                     # what a snapshot records as its model version
    slips: SlipDistribution | None   # None: plain timing
    choice: dict = field(default_factory=dict)  # "chosen": family -> SourceChoice


def plan_probabilities(
    probabilities: str, day: date, live: bool, slip_adjusted: bool, *, per_deal: bool,
) -> ProbabilityPlan:
    """The pipeline at ``day`` (today's when ``live``) with per-row probabilities. ``per_deal``
    forces one row per deal (the drill-down); otherwise large live pipelines read with stage
    probabilities are aggregated in the database. ``chosen``: each family's source as the
    latest backtest chose it (``source_choice.py``)."""
    if probabilities == "chosen":
        return _chosen_plan(day, live, slip_adjusted, per_deal)
    defaults = inputs.stage_probabilities()
    learned = learned_for(day, defaults) if probabilities == "calibrated" else None
    use_model = learned is not None and learned.source == "calibrated"
    crm_rows, features = _crm_rows(day, live, use_model, per_deal, defaults)
    rows = inputs.concat([crm_rows, inputs.imported_rows(None if live else day)])
    # Overdue CRM deals (expected close passed, still open) get less than their stage says;
    # the model prices that itself, from how long they are overdue.
    overdue = (rows.close < np.datetime64(day, "D")) & (rows.deal > -2)
    late = overdue_factor_for(day, defaults) if overdue.any() else OverdueFactor(1.0, 0)
    p = late.apply(rows.stage_p, overdue)
    rows = replace(rows, stage_p=p.copy())
    if use_model:
        p = _model_probabilities(rows, p, features, learned, defaults)
    slips = learn_slips(settled(observations_as_of(day), np.datetime64(day, "D"))) if slip_adjusted else None
    method = learned.method if learned is not None else "stage defaults"
    if not use_model and late.text:
        method += f"; {late.text}"
    return ProbabilityPlan(
        rows, p, commit_flags(rows), "calibrated" if use_model else "stage",
        method, _version(learned, use_model, slips), slips,
    )


def _chosen_plan(day: date, live: bool, slip_adjusted: bool, per_deal: bool) -> ProbabilityPlan:
    """Per family, stage defaults, calibrated probabilities or their average (``blend``), as
    the figures computed by ``day`` chose. The calibrated plan carries each row's stage
    probability too, so one set of rows serves every family."""
    choice, _computed = current_choice(day)
    sources = {family: source_for(choice, family).source for family in choice}
    if not any(source != "stage" for source in sources.values()):
        plan = plan_probabilities("stage", day, live, slip_adjusted, per_deal=per_deal)
    else:
        plan = plan_probabilities("calibrated", day, live, slip_adjusted, per_deal=True)
    rows = plan.rows
    row_source = np.array([sources.get(code, "stage") for code in rows.families] or ["stage"], dtype=object)
    per_row = row_source[rows.family] if len(rows) else np.zeros(0, dtype=object)
    p = np.where(per_row == "calibrated", plan.p, np.where(per_row == "blend", (plan.p + rows.stage_p) / 2,
                                                           rows.stage_p))
    if plan.source != "calibrated":  # calibrated fell back to stage: nothing learned to blend
        p = rows.stage_p.copy()
    summary = ", ".join(f"{family} {source}" for family, source in sorted(sources.items())) or "no backtest yet: stage"
    method = f"chosen per family by backtest ({summary})"
    if plan.source != "calibrated" and any(source != "stage" for source in sources.values()):
        method += f"; calibrated fell back to the stage defaults: {plan.method}"
    return replace(plan, p=p, source="chosen", method=method,
                   version=f"{MODEL_VERSION}:chosen:{summary}; {plan.version}"[:400],
                   choice={family: source_for(choice, family) for family in rows.families})


def _crm_rows(day: date, live: bool, use_model: bool, per_deal: bool, defaults):
    """The CRM's open pipeline rows, and (deal ids, features) when a model will price them."""
    if not live:
        states = inputs.open_states_as_of(day)
        features = (np.array([int(s.deal_id) for s in states], np.int64),
                    features_of_states(states, crm_port.end_of_day(day))) if use_model else None
        return inputs.rows_from_states(states, defaults), features
    if not use_model:
        return inputs.crm_rows_now(aggregate=False if per_deal else None), None
    lines = crm_port.open_line_columns()
    return inputs.rows_from_columns(lines), _features_now(crm_port.end_of_day(day), lines)


def _version(learned, use_model: bool, slips: SlipDistribution | None) -> str:
    version = learned.version if use_model else f"{MODEL_VERSION}:stage:stage defaults"
    if learned is not None and not use_model:
        version += f" (calibrated asked: {learned.method})"
    if slips is not None:
        version += f"; slips learned from {slips.observations} won-deal observations"
    return version


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


def _model_probabilities(rows: PipelineRows, p: np.ndarray, features, learned, defaults) -> np.ndarray:
    deal_ids, deal_features = features
    predicted = learned.predict(deal_features, defaults)
    order = np.argsort(deal_ids, kind="stable")
    sorted_ids = deal_ids[order]
    crm = rows.deal >= 0
    if not crm.any() or sorted_ids.size == 0:
        return p
    where = np.clip(np.searchsorted(sorted_ids, rows.deal[crm]), 0, sorted_ids.size - 1)
    found = sorted_ids[where] == rows.deal[crm]
    values = p[crm]
    values[found] = predicted[order][where[found]]
    p = p.copy()
    p[crm] = values
    return p


def commit_flags(rows: PipelineRows) -> np.ndarray:
    """A row is commit when its stage is the family's commit stage or later in the pipeline; a
    stage this CRM does not have (imported deals) when its probability reaches the commit
    stage's default probability."""
    if len(rows) == 0:
        return np.zeros(0, bool)
    stages = {s.name: s for s in crm_port.pipeline_stages()}
    order = {name: i for i, name in enumerate(stages)}
    settings = settings_by_family()
    flags = np.zeros(len(rows), bool)
    for f, family in enumerate(rows.families):
        commit_name = settings[family].commit_stage if family in settings else None
        if commit_name not in stages:
            continue
        threshold, commit_p = order[commit_name], float(stages[commit_name].probability)
        in_family = rows.family == f
        for s, stage in enumerate(rows.stages):
            mask = in_family & (rows.stage == s)
            if not mask.any():
                continue
            if stage in order:
                flags[mask] = order[stage] >= threshold
            else:
                flags[mask] = rows.stage_p[mask] >= commit_p
    return flags
