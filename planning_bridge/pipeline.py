"""The open pipeline with its probabilities and slips, for callers of the former one-call API.

The computation lives in the stages of ``planning_bridge/path/`` (states, observations,
probabilities, timing); this module runs them in order and re-exports what callers used.
``learn_slips`` here is the slip learner ``demand.py`` hands to the timing stage.
"""
from __future__ import annotations

from datetime import date

from planning_bridge.path import demand_path
from planning_bridge.path.probabilities import ProbabilityPlan, commit_flags
from planning_bridge.timing import SlipDistribution, learn_slips


def plan_probabilities(
    probabilities: str, day: date, live: bool, slip_adjusted: bool, *, per_deal: bool,
) -> ProbabilityPlan:
    """The pipeline at ``day`` (today's when ``live``) with per-row probabilities and, when
    ``slip_adjusted``, the learned slips: the stages up to timing."""
    return demand_path(day=day, live=live, probabilities=probabilities, slip_adjusted=slip_adjusted,
                       per_deal=per_deal, through="timing", learn_slips=learn_slips).timing


__all__ = ["ProbabilityPlan", "SlipDistribution", "commit_flags", "learn_slips", "plan_probabilities"]
