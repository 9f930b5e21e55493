"""Stage 2, observations: of the closed deals seen at review moments before the day (read by
stage 1, see ``observations.py``), the settled ones: moments long enough ago that the deals
then open have mostly closed. Only slip-adjusted timing learns from them in a later stage
(stage 4); otherwise stage 1 read none and there are none here. The learned model and the
overdue factor are fitted on the same settled observations, memoised, and come with the reads."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planning_bridge.observations import Observations, settled
from planning_bridge.path.states import DealStates


@dataclass(frozen=True)
class Observed:
    """Stage 1's deal states, with the settled observations as of their day (None: not read)."""

    states: DealStates
    settled: Observations | None


def observe(states: DealStates) -> Observed:
    if states.observations is None:
        return Observed(states, None)
    return Observed(states, settled(states.observations, np.datetime64(states.day, "D")))
