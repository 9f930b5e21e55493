"""Stage 4, timing: close-date slips learned from the won deals among the settled observations
(``timing.py``) when slip-adjusted timing is asked; otherwise plain timing (no slips)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from planning_bridge.observations import Observations
from planning_bridge.path.probabilities import ProbabilityPlan
from planning_bridge.timing import SlipDistribution, learn_slips


def time(priced: ProbabilityPlan,
         learn: Callable[[Observations], SlipDistribution] = learn_slips) -> ProbabilityPlan:
    """The priced rows with their slips (``learn`` from the settled observations)."""
    if not priced.observed.states.slip_adjusted:
        return priced
    observed = priced.observed.settled
    assert observed is not None  # stage 1 reads the observations when slips are asked
    slips = learn(observed)
    version = f"{priced.version}; slips learned from {slips.observations} won-deal observations"
    if priced.source == "chosen":
        version = version[:400]
    return replace(priced, slips=slips, version=version)
