"""THE priority of a call queue candidate: one pure function, documented and tested rule by rule.

Bands, highest first (a candidate in a higher band always outranks every lower one; inside a
band the value orders by urgency, always below the band's width of 1000):

1. ``live_intent`` (5000+): a human open, click or high-value page view in the last 30 minutes;
   fresher first (call while they read).
2. ``call_task`` (4000+): a due or overdue call step of a sequence; the more overdue first.
3. ``converted`` (3000+): a form submitted or a reply since the last working day; newest first.
4. ``callback`` (2000+): a promised callback whose time has come (held until then); the
   longest-waiting promise first.
5. ``score`` (1000+): the best scores not contacted recently; higher score first.
   ``capacity`` shares this band: a contact with an open deal (or a recent win) in a product
   family the published S&OP plan has spare capacity for (``crm.targets.services.
   capacity_boosts``), worth ``CAPACITY_BOOST`` in it.

The capacity boost: a candidate of any band whose contact buys a family with spare capacity
gets ``boost`` (``CAPACITY_BOOST``) added inside its band (never past it: live intent still
comes first) and the reason ("spare capacity in PUMP for Feb–Mar") appended to its own.

A contact with several reasons keeps its best one (``best_per_contact``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

BANDS = {"live_intent": 5000.0, "call_task": 4000.0, "converted": 3000.0, "callback": 2000.0, "score": 1000.0,
         "capacity": 1000.0}
REASON_CODES = tuple(BANDS)
BAND_WIDTH = 999.0
LIVE_INTENT_MINUTES = 30
CAPACITY_BOOST = 300.0  # inside a band: as much as 30 points of lead score


@dataclass(frozen=True)
class Candidate:
    contact_id: int
    reason_code: str
    reason: str
    signal_at: datetime  # when the signal happened, or when the task / callback is due
    score: float = 0.0
    task_id: int | None = None
    callback_id: int | None = None
    boost: float = 0.0  # added inside the band (the capacity boost)


def _clamp(value: float) -> float:
    return max(0.0, min(BAND_WIDTH, value))


def priority(candidate: Candidate, now: datetime) -> float:
    """Higher is called first. Pure: depends only on the candidate and ``now``."""
    return BANDS[candidate.reason_code] + _clamp(_in_band(candidate, now) + candidate.boost)


def _in_band(candidate: Candidate, now: datetime) -> float:
    age_minutes = (now - candidate.signal_at).total_seconds() / 60
    if candidate.reason_code == "live_intent":
        return _clamp(LIVE_INTENT_MINUTES * 10 - age_minutes * 10)  # fresher higher
    if candidate.reason_code == "call_task":
        return _clamp(age_minutes / 60)  # hours overdue
    if candidate.reason_code == "converted":
        return _clamp(BAND_WIDTH - age_minutes / 60)  # newer higher
    if candidate.reason_code == "callback":
        return _clamp(age_minutes)  # minutes past the promised time
    if candidate.reason_code == "capacity":
        return 0.0  # its worth is the boost
    return _clamp(candidate.score * 9.99)  # score 0-100


def best_per_contact(candidates, now: datetime) -> list[tuple[Candidate, float]]:
    """One candidate per contact (its highest priority), highest priority first; ties by
    contact id so the order is stable."""
    best: dict[int, tuple[Candidate, float]] = {}
    for candidate in candidates:
        value = priority(candidate, now)
        if candidate.contact_id not in best or value > best[candidate.contact_id][1]:
            best[candidate.contact_id] = (candidate, value)
    return sorted(best.values(), key=lambda pair: (-pair[1], pair[0].contact_id))
