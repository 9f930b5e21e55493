"""Exact apportionment: a total split by weights with no rounding loss (Hamilton's method, the
largest-remainder rule), and the split of one plan cell into rep targets. Pure functions of
their inputs: the services read the data, this module only divides.

Why Hamilton: every rep's target is its exact quota rounded down to the plan's unit (a whole
unit, or a cent for money), and the units left over go one by one to the largest remainders,
so the parts always add up to the published total and none is ever more than one unit away
from its exact share. Ties go to the earlier key (keys are sorted), so a split is repeatable.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

UNIT = Decimal("1")
CENT = Decimal("0.01")
FINE = Decimal("0.001")  # units of a plan given in fractions (kg, m...): three decimals


def quantum_of(total: Decimal) -> Decimal:
    """The step a total is split in: whole units for a whole total, else thousandths."""
    return UNIT if total == total.to_integral_value() else FINE


def apportion(total: Decimal, weights: Mapping[Hashable, Fraction | Decimal | int], quantum: Decimal) -> dict:
    """``total`` split in steps of ``quantum`` in proportion to ``weights`` (all >= 0, at least
    one > 0): the parts add up to ``total`` exactly. ``total`` is first rounded down to a
    multiple of ``quantum`` only if it is not one already; the rest of that rounding goes to the
    largest weight (so the sum is still exact)."""
    keys = sorted(weights, key=_sort_key)
    fractions = {k: Fraction(weights[k]) for k in keys}
    weight_sum = sum(fractions.values(), Fraction(0))
    if not keys or weight_sum <= 0 or any(w < 0 for w in fractions.values()):
        raise ValueError("weights must be non-negative with a positive sum")
    steps, odd = divmod(Fraction(total) / Fraction(quantum), 1)  # odd: a part smaller than a step
    steps = int(steps)
    quotas = {k: steps * fractions[k] / weight_sum for k in keys}
    floors = {k: int(q) for k, q in quotas.items()}
    left = steps - sum(floors.values())
    by_remainder = sorted(keys, key=lambda k: (-(quotas[k] - floors[k]), keys.index(k)))
    for k in by_remainder[:left]:
        floors[k] += 1
    parts = {k: Decimal(floors[k]) * quantum for k in keys}
    if odd:
        biggest = max(keys, key=lambda k: (fractions[k], -keys.index(k)))
        parts[biggest] += Decimal(odd.numerator) / Decimal(odd.denominator) * quantum
    return parts


def _sort_key(key) -> tuple:
    return (key is None, str(type(key)), key if key is not None else 0)


def blend(pipeline: Mapping, wins: Mapping, pipeline_share: Fraction) -> dict:
    """Each seller's share: ``pipeline_share`` of their part of the weighted pipeline plus the
    rest of their part of recent wins. When one of the two is empty company-wide, the other
    alone decides (a family with no recent wins is split by pipeline only)."""
    sellers = set(pipeline) | set(wins)
    p_sum = sum((Fraction(v) for v in pipeline.values()), Fraction(0))
    w_sum = sum((Fraction(v) for v in wins.values()), Fraction(0))
    if p_sum <= 0 and w_sum <= 0:
        return {}
    if p_sum <= 0:
        pipeline_share = Fraction(0)
    elif w_sum <= 0:
        pipeline_share = Fraction(1)
    shares = {}
    for seller in sellers:
        share = Fraction(0)
        if pipeline_share:
            share += pipeline_share * Fraction(pipeline.get(seller, 0)) / p_sum
        if pipeline_share != 1:
            share += (1 - pipeline_share) * Fraction(wins.get(seller, 0)) / w_sum
        shares[seller] = share
    return shares


@dataclass(frozen=True)
class CellSplit:
    """One family and month of the plan split over reps (``None``: nobody could carry it)."""

    units: dict
    revenue: dict
    allocated_teams: frozenset = field(default_factory=frozenset)
    scaled_teams: frozenset = field(default_factory=frozenset)  # allocations above the team total


def split_cell(units: Decimal, revenue: Decimal | None, shares: Mapping, everyone: list,
               team_of: Mapping, allocations: Mapping[Hashable, Mapping]) -> CellSplit:
    """Split one plan cell.

    * ``shares``: each active seller's blended share (``blend``); empty when nobody has
      pipeline or recent wins in the family: then ``everyone`` (the active reps) carries an
      equal part, and with nobody at all the cell stays unassigned (key ``None``).
    * ``team_of``: seller -> team (their manager's id; ``None`` for no team).
    * ``allocations``: team -> {rep: units} the team's manager set for this cell. The team's
      total (the sum of its members' targets from the shares) is then re-split: allocated reps
      get their allocation, the rest goes to the team's other reps by their shares; allocations
      above the team total are scaled down to it (largest remainder).
    """
    weights = {s: w for s, w in shares.items() if w > 0} or {rep: 1 for rep in everyone} or {None: 1}
    by_rep = apportion(units, weights, quantum_of(units)) if units > 0 else {k: Decimal(0) for k in weights}
    scaled = set()
    for team, allocation in allocations.items():
        members = {rep for rep, their_team in team_of.items() if their_team == team and rep is not None} \
            | {rep for rep in by_rep if rep is not None and team_of.get(rep) == team} | set(allocation)
        team_total = sum((by_rep.get(rep, Decimal(0)) for rep in members), Decimal(0))
        resplit, was_scaled = _resplit_team(team_total, allocation, {m: weights.get(m, 0) for m in members})
        if was_scaled:
            scaled.add(team)
        for rep in members:
            if rep in by_rep or rep in allocation or resplit.get(rep):
                by_rep[rep] = resplit.get(rep, Decimal(0))
    return CellSplit(by_rep, _revenue(revenue, by_rep, weights), frozenset(allocations), frozenset(scaled))


def _resplit_team(total: Decimal, allocation: Mapping, weights: Mapping) -> tuple[dict, bool]:
    quantum = quantum_of(total)
    given = {rep: Decimal(v) for rep, v in allocation.items()}
    given_sum = sum(given.values(), Decimal(0))
    if given_sum >= total:
        positive = {r: v for r, v in given.items() if v > 0}
        parts = apportion(total, positive, quantum) if positive and total > 0 else {}
        return {r: parts.get(r, Decimal(0)) for r in weights | given}, given_sum > total
    rest = total - given_sum
    others = {r: w for r, w in weights.items() if r not in given and w > 0}
    if not others:  # every rep allocated, or the others have no share: equal among the others
        others = ({r: 1 for r in weights if r not in given}
                  or {r: v for r, v in given.items() if v > 0} or {r: 1 for r in given})
    extra = apportion(rest, others, quantum_of(rest))
    return {r: given.get(r, Decimal(0)) + extra.get(r, Decimal(0)) for r in set(weights) | set(given)}, False


def _revenue(revenue: Decimal | None, by_rep: Mapping, weights: Mapping) -> dict:
    """Revenue follows the units (to the cent); with no units planned, the shares."""
    if revenue is None:
        return {rep: None for rep in by_rep}
    positive = {r: u for r, u in by_rep.items() if u > 0} or {r: w for r, w in weights.items() if w > 0}
    if revenue == 0 or not positive:
        return {rep: Decimal("0.00") for rep in by_rep}
    parts = apportion(revenue, positive, CENT)
    return {rep: parts.get(rep, Decimal("0.00")) for rep in by_rep}
