"""Stage 2, observations: the closed deals seen at the review moments before the day (the
learning material of ``observations.py``), settled ones only. Read when a later stage needs
them (calibrated probabilities, the overdue factor, learned slips), then kept."""
from __future__ import annotations

from functools import cached_property

import numpy as np

from planning_bridge.observations import Observations, observations_as_of, settled
from planning_bridge.path.states import DealStates


class Observed:
    """Stage 1's deal states, with the settled observations as of their day."""

    def __init__(self, states: DealStates) -> None:
        self.states = states

    @cached_property
    def settled(self) -> Observations:
        day = self.states.day
        return settled(observations_as_of(day), np.datetime64(day, "D"))


def observe(states: DealStates) -> Observed:
    return Observed(states)
