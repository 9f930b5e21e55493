"""Stage 3, probabilities: each pipeline row's win probability under the source asked
("stage", "calibrated" or "chosen" per family by the backtest, ``source_choice.py``), with
overdue CRM deals priced down, and whether it counts as commit. All from stage 1's reads:

* ``stage``: the stage's default (an imported deal's own probability), times the overdue factor
  for a CRM deal whose expected close has passed;
* ``calibrated``: for each CRM deal, the probability learned from the CRM's closed deals
  (``probabilities.py``: stage win rates smoothed toward the defaults, or the calibrated model
  on the deal's features, which reads how long the deal is overdue itself), made monotone in
  stage; when history was too short to learn, the stage defaults as above, and the method
  says why;
* ``chosen``: per family, the stage probability, the calibrated one or their average
  (``blend``), as the stored choice says; every row carries both.

A row is commit when its stage is the family's commit stage or later (``commit_flags``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from planning_bridge.contracts import FamilySettings
from planning_bridge.inputs import PipelineRows
from planning_bridge.path.observations import Observed
from planning_bridge.path.states import crm_rows_overdue
from planning_bridge.probabilities import MODEL_VERSION
from planning_bridge.source_choice import source_for
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
    plan = _priced(observed)
    return _chosen_plan(plan) if observed.states.probabilities == "chosen" else plan


def _priced(observed: Observed) -> ProbabilityPlan:
    """The rows priced by the stage defaults, or by the learned model when stage 1 loaded one
    that prices them (``calibrated``, or ``chosen`` with a family on a learned source)."""
    states = observed.states
    rows, learned, use_model = states.rows, states.learned, states.model_prices
    # Overdue CRM deals (expected close passed, still open) get less than their stage says;
    # the model prices that itself, from how long they are overdue.
    p = states.overdue.apply(rows.stage_p, crm_rows_overdue(rows, states.day))
    rows = replace(rows, stage_p=p.copy())
    if use_model:
        p = _model_probabilities(rows, p, states.features, learned, states.defaults)
    method = learned.method if learned is not None else "stage defaults"
    if not use_model and states.overdue.text:
        method += f"; {states.overdue.text}"
    return ProbabilityPlan(
        rows, p, commit_flags(rows, states.defaults, states.settings), "calibrated" if use_model else "stage",
        method, _version(learned, use_model), observed,
    )


def _chosen_plan(plan: ProbabilityPlan) -> ProbabilityPlan:
    """Per family, stage defaults, calibrated probabilities or their average (``blend``), as
    the figures computed by the day chose. The calibrated plan carries each row's stage
    probability too, so one set of rows serves every family."""
    choice = plan.observed.states.choice
    sources = {family: source_for(choice, family).source for family in choice}
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


def commit_flags(rows: PipelineRows, defaults: dict[str, float], settings: dict[str, FamilySettings]) -> np.ndarray:
    """A row is commit when its stage is the family's commit stage or later in the pipeline
    (``defaults`` lists the stages in pipeline order); a stage this CRM does not have (imported
    deals) when its probability reaches the commit stage's default probability."""
    if len(rows) == 0:
        return np.zeros(0, bool)
    order = {name: i for i, name in enumerate(defaults)}
    flags = np.zeros(len(rows), bool)
    for f, family in enumerate(rows.families):
        commit_name = settings[family].commit_stage if family in settings else None
        if commit_name not in order:
            continue
        threshold, commit_p = order[commit_name], defaults[commit_name]
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
