"""Stage 3, probabilities: each pipeline row's win probability under the source asked
("stage", "calibrated" or "chosen" per family by the backtest, ``source_choice.py``), with
overdue deals priced down (``probabilities.py``), and whether it counts as commit."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from planning_bridge import crm_port, inputs
from planning_bridge.inputs import PipelineRows
from planning_bridge.path.observations import Observed
from planning_bridge.path.states import pipeline_rows
from planning_bridge.probabilities import MODEL_VERSION, OverdueFactor, learned_for, overdue_factor_for
from planning_bridge.settings import settings_by_family
from planning_bridge.source_choice import current_choice, source_for
from planning_bridge.timing import SlipDistribution


@dataclass(frozen=True)
class ProbabilityPlan:
    rows: PipelineRows
    p: np.ndarray                    # win probability per row
    commit: np.ndarray               # bool per row: in the family's commit stage or later
    source: str                      # the source used: "stage", "calibrated" or "chosen"
    method: str
    version: str                     # what a snapshot records as its model version
    observed: Observed               # the previous stages' output
    slips: SlipDistribution | None = None  # set by the timing stage; None: plain timing
    choice: dict = field(default_factory=dict)  # "chosen": family -> SourceChoice


def price(observed: Observed) -> ProbabilityPlan:
    """The rows of the deal states with their probabilities under the source asked."""
    if observed.states.probabilities == "chosen":
        return _chosen_plan(observed)
    return _priced(observed, observed.states.probabilities, observed.states.per_deal)


def _priced(observed: Observed, probabilities: str, per_deal: bool) -> ProbabilityPlan:
    states = replace(observed.states, per_deal=per_deal)
    day = states.day
    defaults = inputs.stage_probabilities()
    learned = learned_for(day, defaults) if probabilities == "calibrated" else None
    use_model = learned is not None and learned.source == "calibrated"
    rows, features = pipeline_rows(states, use_model, defaults)
    # Overdue CRM deals (expected close passed, still open) get less than their stage says;
    # the model prices that itself, from how long they are overdue.
    overdue = (rows.close < np.datetime64(day, "D")) & (rows.deal > -2)
    late = overdue_factor_for(day, defaults) if overdue.any() else OverdueFactor(1.0, 0)
    p = late.apply(rows.stage_p, overdue)
    rows = replace(rows, stage_p=p.copy())
    if use_model:
        p = _model_probabilities(rows, p, features, learned, defaults)
    method = learned.method if learned is not None else "stage defaults"
    if not use_model and late.text:
        method += f"; {late.text}"
    return ProbabilityPlan(
        rows, p, commit_flags(rows), "calibrated" if use_model else "stage",
        method, _version(learned, use_model), observed,
    )


def _chosen_plan(observed: Observed) -> ProbabilityPlan:
    """Per family, stage defaults, calibrated probabilities or their average (``blend``), as
    the figures computed by ``day`` chose. The calibrated plan carries each row's stage
    probability too, so one set of rows serves every family."""
    choice, _computed = current_choice(observed.states.day)
    sources = {family: source_for(choice, family).source for family in choice}
    if not any(source != "stage" for source in sources.values()):
        plan = _priced(observed, "stage", observed.states.per_deal)
    else:
        plan = _priced(observed, "calibrated", True)
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


def _version(learned, use_model: bool) -> str:
    version = learned.version if use_model else f"{MODEL_VERSION}:stage:stage defaults"
    if learned is not None and not use_model:
        version += f" (calibrated asked: {learned.method})"
    return version


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
