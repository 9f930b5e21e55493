"""The split is exact: parts add up to the published total (units, and revenue to the cent),
none is negative, each is within one step of its exact quota, and a manager's allocation holds
where it fits (hypothesis explores the shapes)."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.targets.split import CENT, apportion, blend, quantum_of, split_cell

units_totals = st.one_of(
    st.integers(0, 10**7).map(Decimal),
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
)
revenues = st.one_of(st.none(), st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False,
                                            allow_infinity=False))
weights = st.dictionaries(st.integers(1, 40), st.fractions(min_value=0, max_value=1000), min_size=1, max_size=12)


@given(total=units_totals, weights=weights)
@settings(max_examples=300, deadline=None)
def test_apportion_adds_up_exactly_and_stays_within_one_step_of_the_quota(total, weights):
    if sum(weights.values()) == 0:
        weights = {**weights, 1: Fraction(1)}
    quantum = quantum_of(total)
    parts = apportion(total, weights, quantum)
    assert sum(parts.values()) == total
    assert set(parts) == set(weights)
    weight_sum = sum(weights.values())
    for key, part in parts.items():
        assert part >= 0
        quota = Fraction(total) * weights[key] / weight_sum
        assert abs(Fraction(part) - quota) <= Fraction(quantum)
        if weights[key] == 0:
            assert part == 0


def test_largest_remainders_get_the_leftover_units():
    # 10 units over 3 equal reps: quotas 3.33 each, one leftover goes to the first key (ties: key order)
    assert apportion(Decimal(10), {7: 1, 3: 1, 5: 1}, Decimal(1)) == {3: Decimal(4), 5: Decimal(3), 7: Decimal(3)}
    # 100 units 0.455 / 0.545 -> quotas 45.5 / 54.5: both remainders .5, the earlier key wins the unit
    assert apportion(Decimal(100), {1: Fraction(455, 1000), 2: Fraction(545, 1000)}, Decimal(1)) == {
        1: Decimal(46), 2: Decimal(54)}
    # money to the cent
    assert apportion(Decimal("100.00"), {1: 1, 2: 1, 3: 1}, CENT) == {
        1: Decimal("33.34"), 2: Decimal("33.33"), 3: Decimal("33.33")}


def test_apportion_refuses_weights_that_say_nothing():
    with pytest.raises(ValueError):
        apportion(Decimal(10), {1: 0, 2: 0}, Decimal(1))
    with pytest.raises(ValueError):
        apportion(Decimal(10), {1: -1, 2: 2}, Decimal(1))


def test_blend_is_half_pipeline_half_wins_and_falls_back_to_either():
    shares = blend({1: 30, 2: 10}, {2: 5}, Fraction(1, 2))
    assert shares == {1: Fraction(3, 8), 2: Fraction(1, 8) + Fraction(1, 2)}
    assert blend({1: 30, 2: 10}, {}, Fraction(1, 2)) == {1: Fraction(3, 4), 2: Fraction(1, 4)}
    assert blend({}, {3: 4}, Fraction(1, 2)) == {3: Fraction(1)}
    assert blend({}, {}, Fraction(1, 2)) == {}


team_shapes = st.fixed_dictionaries({
    "units": units_totals, "revenue": revenues,
    "shares": st.dictionaries(st.integers(1, 12), st.fractions(min_value=0, max_value=50), max_size=10),
    "reps": st.lists(st.integers(1, 12), max_size=10, unique=True),
    "teams": st.dictionaries(st.integers(1, 12), st.sampled_from([100, 200, None]), max_size=12),
    "allocation": st.dictionaries(st.integers(1, 12), st.integers(0, 500).map(Decimal), max_size=5),
})


@given(shape=team_shapes)
@settings(max_examples=300, deadline=None)
def test_a_cell_splits_exactly_whatever_the_shares_teams_and_allocations(shape):
    team_of = shape["teams"]
    allocation = {rep: units for rep, units in shape["allocation"].items() if team_of.get(rep) == 100}
    split = split_cell(shape["units"], shape["revenue"], shape["shares"], shape["reps"], team_of,
                       {100: allocation} if allocation else {})
    assert sum(split.units.values()) == shape["units"]
    assert all(u >= 0 for u in split.units.values())
    if shape["revenue"] is None:
        assert all(r is None for r in split.revenue.values())
    else:
        assert sum(split.revenue.values()) == shape["revenue"]
        assert all(r >= 0 and r == r.quantize(CENT) for r in split.revenue.values())


@given(total=st.integers(0, 5000).map(Decimal), data=st.data())
@settings(max_examples=300, deadline=None)
def test_an_allocation_that_fits_the_team_total_is_given_as_set(total, data):
    reps = list(range(1, 7))
    shares = {rep: data.draw(st.fractions(min_value=0, max_value=20)) for rep in reps}
    shares[1] += 1  # someone sells
    team_of = {rep: 100 for rep in reps}
    allocated = data.draw(st.lists(st.sampled_from(reps), unique=True, max_size=len(reps) - 1))
    budget, wanted = int(total), {}
    for rep in allocated:  # each allocation fits in what is left of the team total
        wanted[rep] = Decimal(data.draw(st.integers(0, budget)))
        budget -= int(wanted[rep])
    split = split_cell(total, None, shares, reps, team_of, {100: wanted} if wanted else {})
    assert {rep: split.units[rep] for rep in wanted} == wanted
    assert sum(split.units.values()) == total
    assert all(u >= 0 for u in split.units.values())


def test_allocation_wins_and_the_rest_goes_to_the_others_by_their_shares():
    team_of = {1: 100, 2: 100, 3: 100, 4: 200}
    shares = {1: Fraction(1), 2: Fraction(1), 3: Fraction(2), 4: Fraction(4)}
    base = split_cell(Decimal(80), Decimal("800.00"), shares, [1, 2, 3, 4], team_of, {})
    assert base.units == {1: 10, 2: 10, 3: 20, 4: 40}
    split = split_cell(Decimal(80), Decimal("800.00"), shares, [1, 2, 3, 4], team_of, {100: {1: Decimal(25)}})
    # team 100 keeps its 40; rep 1 gets 25, reps 2 and 3 share the 15 left 1:2
    assert split.units == {1: 25, 2: 5, 3: 10, 4: 40}
    assert split.revenue == {1: Decimal("250.00"), 2: Decimal("50.00"), 3: Decimal("100.00"), 4: Decimal("400.00")}
    assert split.allocated_teams == {100} and not split.scaled_teams


def test_an_allocation_above_the_team_total_is_scaled_down_to_it():
    team_of = {1: 100, 2: 100}
    split = split_cell(Decimal(10), None, {1: 1, 2: 1}, [1, 2], team_of, {100: {1: Decimal(30), 2: Decimal(10)}})
    assert split.units == {1: Decimal(8), 2: Decimal(2)} or split.units == {1: Decimal(7), 2: Decimal(3)}
    assert sum(split.units.values()) == 10
    assert split.scaled_teams == {100}


def test_nobody_selling_means_an_equal_split_and_nobody_at_all_means_unassigned():
    equal = split_cell(Decimal(9), Decimal("90.00"), {}, [4, 5, 6], {}, {})
    assert equal.units == {4: 3, 5: 3, 6: 3}
    nobody = split_cell(Decimal(9), Decimal("90.00"), {}, [], {}, {})
    assert nobody.units == {None: 9} and nobody.revenue == {None: Decimal("90.00")}


def test_fractional_plans_split_in_thousandths():
    parts = split_cell(Decimal("10.5"), None, {1: 1, 2: 2}, [], {}, {}).units
    assert parts == {1: Decimal("3.500"), 2: Decimal("7.000")}
    assert sum(split_cell(Decimal("1.0001"), None, {1: 1, 2: 1, 3: 1}, [], {}, {}).units.values()) == Decimal("1.0001")
