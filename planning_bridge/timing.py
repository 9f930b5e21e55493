"""When a line's demand falls.

Plain timing: the month of (expected close + the family's delivery lead time), where an open
deal whose expected close has already passed is taken to close on the day the demand input is
for (it has not closed yet, so it cannot have closed in the past).

Slip-adjusted timing (optional): close dates slip, and by how much is learned from won deals.
Each won deal seen at a review moment while open (``observations.py``) says how many months
its actual close month came after the close month expected then (the expected close, or the
moment itself when that date had already passed): an offset k from ``EARLIEST`` (closed early)
to ``LATEST`` months (later slips are counted at ``LATEST``). The offsets' frequencies per
stage (pooled over stages for a stage seen fewer than ``MIN_OBSERVATIONS`` times; no slip at
all when even the pool is that small) spread each line's weighted quantity over the months
m + k with those frequencies. An offset that would fall before the month of the as-of date
lands in that month. Bands stay exact per month: a deal lands in month m + k with probability
P(win) · P(k), independently of the other deals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planning_bridge.observations import Observations
from planning_bridge.periods import month_indexes

EARLIEST, LATEST = -3, 12
OFFSETS = np.arange(EARLIEST, LATEST + 1)
MIN_OBSERVATIONS = 30


@dataclass(frozen=True)
class SlipDistribution:
    """P(close month offset = k) per stage, k in ``OFFSETS``."""

    by_stage: dict[str, np.ndarray]
    pooled: np.ndarray | None
    observations: int

    def pmf(self, stage: str) -> np.ndarray:
        if stage in self.by_stage:
            return self.by_stage[stage]
        if self.pooled is not None:
            return self.pooled
        return no_slip()

    @property
    def learned(self) -> bool:
        return self.pooled is not None

    def mean_slip(self, stage: str | None = None) -> float:
        pmf = self.pmf(stage) if stage else (self.pooled if self.pooled is not None else no_slip())
        return float(OFFSETS @ pmf)

    def summary(self) -> dict:
        """JSON-ready: offsets and the frequencies per stage (``*`` for the pool)."""
        table = {stage: [round(float(x), 4) for x in pmf] for stage, pmf in self.by_stage.items()}
        if self.pooled is not None:
            table["*"] = [round(float(x), 4) for x in self.pooled]
        return {"offsets": OFFSETS.tolist(), "observations": self.observations, "pmf": table}


def no_slip() -> np.ndarray:
    pmf = np.zeros(OFFSETS.size)
    pmf[-EARLIEST] = 1.0
    return pmf


def learn_slips(observations: Observations) -> SlipDistribution:
    won = observations.take(observations.won)
    if len(won) < MIN_OBSERVATIONS:
        return SlipDistribution({}, None, len(won))
    seen_day = won.at.astype("datetime64[D]")
    expected = np.maximum(won.expected_close, seen_day)
    offsets = np.clip(month_indexes(won.closed_on) - month_indexes(expected), EARLIEST, LATEST)
    pooled = _frequencies(offsets)
    by_stage = {}
    for stage in sorted(set(won.features.stage.tolist())):
        mask = won.features.stage == stage
        if mask.sum() >= MIN_OBSERVATIONS:
            by_stage[stage] = _frequencies(offsets[mask])
    return SlipDistribution(by_stage, pooled, len(won))


def _frequencies(offsets: np.ndarray) -> np.ndarray:
    counts = np.bincount(offsets - EARLIEST, minlength=OFFSETS.size).astype(float)
    return counts / counts.sum()
