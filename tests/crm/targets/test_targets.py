"""Targets from the published plan: split by weighted pipeline and recent wins, equal when
nobody sells a family, exact to the plan, manager allocations winning; who reads whose."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crm.errors import NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.targets.services import month_span, save_allocation, team_targets, user_targets
from tests.conftest import NOW
from tests.crm.targets.conftest import MONTH_AFTER, NEXT_MONTH, THIS_MONTH, ym


def targets(viewer, user=None, start=THIS_MONTH, end=MONTH_AFTER):
    rows = user_targets(viewer, (user or viewer).id, start, end, NOW)
    return {(r.family, r.period): r for r in rows}


def test_no_plan_no_targets(alice, deal_for, feedback):
    deal_for(alice, 10)
    assert targets(alice) == {}


def test_the_plan_is_split_half_by_weighted_pipeline_half_by_recent_wins(feedback, alice, bob, charlie, deal_for, win):
    feedback.publish("PUMP", THIS_MONTH, 100, revenue="10000.00")
    deal_for(alice, 30, stage=2)  # 15 weighted
    deal_for(bob, 10, stage=2)    # 5 weighted
    win(bob, 20, days_ago=30)     # recent wins: bob 20 of 20
    win(charlie, 50, days_ago=200)  # outside the 90-day window: no share
    rows = {u.name: targets(u, u)[("PUMP", THIS_MONTH)] for u in (alice, bob, charlie)}
    # alice: 0.5 * 15/20 = 37.5 %; bob: 0.5 * 5/20 + 0.5 = 62.5 %; 37.5 / 62.5 -> remainders tie at .5
    assert {n: r.target_units for n, r in rows.items()} == {
        "Alice Rep": Decimal(38), "Bob Rep": Decimal(62), "Charlie Rep": Decimal(0)}
    assert sum(r.target_revenue for r in rows.values()) == Decimal("10000.00")
    assert rows["Alice Rep"].target_revenue == Decimal("3800.00")
    assert rows["Alice Rep"].weighted_units == Decimal("15.00")
    assert rows["Alice Rep"].won_units == 0 and rows["Alice Rep"].gap_units == 38


def test_won_this_month_counts_and_the_gap_shrinks(feedback, alice, deal_for, win):
    feedback.publish("PUMP", THIS_MONTH, 50, revenue="5000.00")
    deal_for(alice, 10)
    win(alice, 12, days_ago=(NOW.date() - THIS_MONTH).days)  # closed on the 1st of this month
    row = targets(alice)[("PUMP", THIS_MONTH)]
    assert row.target_units == 50 and row.won_units == 12 and row.gap_units == 38
    assert row.won_revenue == Decimal("1200.00") and row.gap_revenue == Decimal("3800.00")


def test_a_family_nobody_sells_is_split_equally_between_active_reps(feedback, alice, bob, charlie, mallory):
    charlie.is_active = False
    db.session.commit()
    feedback.publish("VALVE", NEXT_MONTH, 7)
    got = {u.name: targets(u, u)[("VALVE", NEXT_MONTH)].target_units for u in (alice, bob)}
    assert got == {"Alice Rep": 4, "Bob Rep": 3} or got == {"Alice Rep": 3, "Bob Rep": 4}
    assert targets(mallory)[("VALVE", NEXT_MONTH)].target_units == 0  # managers are not in the equal split


def test_inactive_reps_hold_no_target_and_their_pipeline_counts_for_nobody(feedback, alice, bob, deal_for, admin):
    feedback.publish("PUMP", THIS_MONTH, 10)
    deal_for(alice, 10)
    deal_for(bob, 90)
    bob.is_active = False
    db.session.commit()
    assert targets(admin, alice)[("PUMP", THIS_MONTH)].target_units == 10
    assert targets(admin, bob)[("PUMP", THIS_MONTH)].target_units == 0


def test_with_no_active_rep_the_plan_stays_unassigned_on_the_team_page(feedback, mallory, admin):
    feedback.publish("PUMP", THIS_MONTH, 10)
    view = team_targets(admin, mallory.id, [THIS_MONTH, NEXT_MONTH, MONTH_AFTER], NOW)
    assert [(r.family, r.target_units) for r in view.unassigned] == [("PUMP", 10)]
    assert view.team[0].target_units == 0


def test_the_manager_allocation_wins_and_the_rest_follows_the_rule(feedback, alice, bob, charlie, mallory, deal_for):
    feedback.publish("PUMP", NEXT_MONTH, 90, revenue="9000.00")
    close = NEXT_MONTH + timedelta(days=3)
    deal_for(alice, 10, close=close)
    deal_for(bob, 20, close=close)
    deal_for(charlie, 30, close=close)
    before = {u.id: targets(u, u, NEXT_MONTH, NEXT_MONTH)[("PUMP", NEXT_MONTH)].target_units for u in (alice, bob)}
    assert before == {alice.id: 15, bob.id: 30}

    save_allocation(mallory, None, {"family": "PUMP", "period": ym(NEXT_MONTH), "units": {alice.id: "40", bob.id: ""}},
                    NOW)
    db.session.commit()
    after = {u.id: targets(u, u, NEXT_MONTH, NEXT_MONTH)[("PUMP", NEXT_MONTH)] for u in (alice, bob, charlie)}
    assert after[alice.id].target_units == 40 and after[alice.id].allocated
    assert after[bob.id].target_units == 5  # the team's 45 minus alice's 40
    assert after[charlie.id].target_units == 45 and not after[charlie.id].allocated  # other team untouched
    assert sum(r.target_revenue for r in after.values()) == Decimal("9000.00")
    view = team_targets(mallory, None, [NEXT_MONTH], NOW)
    assert view.team[0].target_units == 45 and view.team[0].allocated


def test_allocations_that_do_not_fit_are_refused_with_the_field(feedback, alice, bob, mallory, deal_for, charlie):
    feedback.publish("PUMP", THIS_MONTH, 100)
    deal_for(alice, 10)
    deal_for(bob, 10)
    cell = {"family": "PUMP", "period": ym(THIS_MONTH)}
    with pytest.raises(ValidationFailed) as too_much:
        save_allocation(mallory, None, {**cell, "units": {alice.id: "120", bob.id: ""}}, NOW)
    assert "more than the team's target of 100" in too_much.value.fields["units"]
    with pytest.raises(ValidationFailed) as short:  # everyone allocated (mallory too): must add up
        save_allocation(mallory, None, {**cell, "units": {alice.id: "40", bob.id: "40", mallory.id: "0"}}, NOW)
    assert "must add up to the team's target of 100" in short.value.fields["units"]
    with pytest.raises(ValidationFailed) as stranger:
        save_allocation(mallory, None, {**cell, "units": {charlie.id: "1"}}, NOW)
    assert "not active in this team" in stranger.value.fields["units"]
    with pytest.raises(ValidationFailed) as no_plan:
        save_allocation(mallory, None, {**cell, "period": ym(MONTH_AFTER), "units": {alice.id: "1"}}, NOW)
    assert "period" in no_plan.value.fields
    with pytest.raises(ValidationFailed) as bad:
        save_allocation(mallory, None, {**cell, "period": "2026-13", "units": {alice.id: "-1"}}, NOW)
    assert set(bad.value.fields) == {"period", "units"}
    with pytest.raises(ValidationFailed) as unknown:
        save_allocation(mallory, None, {**cell, "family": "NOPE", "units": {}}, NOW)
    assert "family" in unknown.value.fields


def test_only_the_teams_manager_or_an_admin_allocates(feedback, alice, mallory, make_user, admin, families):
    feedback.publish("PUMP", THIS_MONTH, 10)
    other = make_user("manager", name="Other Manager")
    data = {"family": "PUMP", "period": ym(THIS_MONTH), "units": {alice.id: "3"}}
    with pytest.raises(PermissionDenied):
        save_allocation(alice, None, data, NOW)
    with pytest.raises(PermissionDenied):
        save_allocation(other, mallory.id, data, NOW)
    with pytest.raises(ValidationFailed):  # the other manager's own team has no alice
        save_allocation(other, None, data, NOW)
    sheet = save_allocation(admin, mallory.id, data, NOW)
    assert sheet.current[alice.id].units == 3 and sheet.current[alice.id].set_by_id == admin.id
    assert sheet.current[alice.id].set_at == NOW


def test_who_reads_whose_targets(feedback, alice, bob, charlie, mallory, pat, admin):
    assert user_targets(alice, alice.id, THIS_MONTH, THIS_MONTH, NOW) == []
    with pytest.raises(PermissionDenied):
        user_targets(alice, bob.id, THIS_MONTH, THIS_MONTH, NOW)
    user_targets(mallory, bob.id, THIS_MONTH, THIS_MONTH, NOW)
    with pytest.raises(PermissionDenied):
        user_targets(mallory, charlie.id, THIS_MONTH, THIS_MONTH, NOW)
    user_targets(pat, charlie.id, THIS_MONTH, THIS_MONTH, NOW)
    user_targets(admin, charlie.id, THIS_MONTH, THIS_MONTH, NOW)
    with pytest.raises(NotFound):
        user_targets(admin, 999999, THIS_MONTH, THIS_MONTH, NOW)
    with pytest.raises(PermissionDenied):
        team_targets(alice, mallory.id, [THIS_MONTH], NOW)


def test_month_spans_read_like_the_pages():
    assert month_span([NEXT_MONTH, THIS_MONTH]) == f"{THIS_MONTH:%b}–{NEXT_MONTH:%b}"
    assert month_span([THIS_MONTH, MONTH_AFTER]) == f"{THIS_MONTH:%b}, {MONTH_AFTER:%b}"
    assert month_span([NEXT_MONTH]) == f"{NEXT_MONTH:%b}"
