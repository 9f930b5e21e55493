"""From deals to demand, in six stages, each in its own module (read them in this order to
answer "why is PUMP March 140?"):

1. ``states.py``: what the CRM and the bridge say at the end of the as-of date, read once:
   the open deals (today's CRM, or the CRM replayed from its history) and imported deals as
   pipeline rows, the stages and their defaults, the family settings, the stored source
   choice, the learned model and overdue factor, the observations and actuals when needed;
2. ``observations.py``: the closed deals seen at past review moments, settled ones only (the
   learning material of the slips);
3. ``probabilities.py``: each row's win probability under the source asked, and commit;
4. ``timing.py``: the close-date slips, when slip-adjusted timing is asked;
5. ``placement.py``: each row placed in its months and summed per family and month;
6. ``combine.py``: the sums with the bands and the baseline under the family's combine rule.

Stage 1 is the only one that reads the database; each later stage is a pure function of the
previous stage's output (``follow``). A stage module imports only earlier stages, and none
after the first imports anything that reads the database
(``tests/planning_bridge/test_demand_path.py``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from planning_bridge.path import combine as combine_stage
from planning_bridge.path import observations as observations_stage
from planning_bridge.path import placement as placement_stage
from planning_bridge.path import probabilities as probabilities_stage
from planning_bridge.path import states as states_stage
from planning_bridge.path import timing as timing_stage

STAGES = ("states", "observations", "probabilities", "timing", "placement", "combine")


@dataclass(frozen=True)
class DemandPath:
    """Each stage's output, in order (None after ``through``)."""

    states: states_stage.DealStates
    observations: observations_stage.Observed
    probabilities: probabilities_stage.ProbabilityPlan
    timing: timing_stage.ProbabilityPlan
    placement: placement_stage.Placed | None = None
    combine: list[combine_stage.DemandCell] | None = None


def demand_path(
    *, day: date, live: bool, probabilities: str, slip_adjusted: bool, per_deal: bool = False,
    lead_times: dict[str, int] | None = None, first: int = 0, last: int = -1,
    wanted: list[str] | None = None, through: str = "combine",
    learn_slips: Callable | None = None,
) -> DemandPath:
    """Run the stages in order up to ``through`` ("timing" for the drill-down, which places one
    cell's deals itself), for the families ``wanted`` (all by default) and the months ``first``
    to ``last``. ``lead_times`` replaces the families' own; ``learn_slips`` the slip learner
    (``timing.learn_slips``)."""
    if through not in STAGES:
        raise ValueError(f"through must be one of {', '.join(STAGES)}")
    dealt = states_stage.deal_states(day, live, probabilities=probabilities, slip_adjusted=slip_adjusted,
                                     per_deal=per_deal, families=wanted, lead_times=lead_times,
                                     first=first, last=last, through=through)
    return follow(dealt, learn_slips)


def follow(dealt: states_stage.DealStates, learn_slips: Callable | None = None) -> DemandPath:
    """Stages 2 to ``dealt.through`` on stage 1's output, each on the previous one's: no
    database read."""
    observed = observations_stage.observe(dealt)
    priced = probabilities_stage.price(observed)
    timed = timing_stage.time(priced, learn_slips) if learn_slips is not None else timing_stage.time(priced)
    path = DemandPath(dealt, observed, priced, timed)
    if STAGES.index(dealt.through) < STAGES.index("placement"):
        return path
    placed = placement_stage.place(timed)
    if dealt.through == "placement":
        return DemandPath(dealt, observed, priced, timed, placed)
    return DemandPath(dealt, observed, priced, timed, placed, combine_stage.combine_with_baseline(placed))
