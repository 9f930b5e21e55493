"""``crm.public`` rebuilds the pipeline as it stood on any past date from the deal history:
a scripted history of stage moves, slips, re-quotes and closes, read back day by day."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.public import deal_histories, pipeline_lines_as_of
from tests.planning_bridge.conftest import at

JAN5, FEB2, MAR3, APR7, APR20 = (at(date(2026, 1, 5)), at(date(2026, 2, 2)), at(date(2026, 3, 3)),
                                 at(date(2026, 4, 7)), at(date(2026, 4, 20)))


@pytest.fixture
def scripted(deal_at, update_at, close_at):
    deal = deal_at(JAN5, 0, date(2026, 3, 31), [("PUMP", 10, 100)], name="Scripted")
    update_at(deal, FEB2, stage=2, expected_close=date(2026, 5, 15))           # moves on, slips
    update_at(deal, MAR3, lines=[("PUMP", 12, 95), ("VALVE", 5, 40)])          # re-quoted
    close_at(deal, APR20, won=True, closed_on=date(2026, 4, 14))               # back-dated close
    late = deal_at(APR7, 3, date(2026, 6, 1), [("VALVE", 3, 10)], name="Late")
    lost = deal_at(JAN5, 1, date(2026, 2, 28), [("PUMP", 1, 10)], name="Lost")
    close_at(lost, FEB2, won=False)
    return deal, late, lost


def lines_of(as_of: date, deal) -> list:
    return [line for line in pipeline_lines_as_of(as_of) if line.deal_id == str(deal.id)]


def test_before_creation_the_deal_is_not_there(scripted):
    deal, _late, _lost = scripted
    assert lines_of(date(2026, 1, 4), deal) == []


def test_each_field_takes_its_value_at_the_end_of_the_day(scripted):
    deal, _late, _lost = scripted
    [line] = lines_of(date(2026, 1, 31), deal)
    assert (line.stage, line.stage_probability, line.expected_close, line.quantity, line.amount) == (
        "Prospecting", Decimal("0.100"), date(2026, 3, 31), 10, Decimal("1000.00"))
    [line] = lines_of(date(2026, 2, 2), deal)  # the change made that day counts
    assert (line.stage, line.expected_close, line.quantity) == ("Proposal", date(2026, 5, 15), 10)
    assert line.won is None and line.closed_on is None and line.created_on == date(2026, 1, 5)


def test_changed_lines_replace_the_old_ones(scripted):
    deal, _late, _lost = scripted
    lines = lines_of(date(2026, 3, 31), deal)
    assert sorted((line.family, line.quantity, line.amount) for line in lines) == [
        ("PUMP", 12, Decimal("1140.00")), ("VALVE", 5, Decimal("200.00"))]


def test_a_backdated_close_was_not_known_before_it_was_recorded(scripted):
    deal, _late, _lost = scripted
    assert {line.won for line in lines_of(date(2026, 4, 15), deal)} == {None}  # closed on the 14th, recorded the 20th
    closed = lines_of(date(2026, 4, 20), deal)
    assert {(line.won, line.closed_on) for line in closed} == {(True, date(2026, 4, 14))}


def test_deals_created_later_are_left_out_and_lost_ones_are_closed(scripted):
    _deal, late, lost = scripted
    assert lines_of(date(2026, 4, 6), late) == []
    assert len(lines_of(date(2026, 4, 7), late)) == 1
    assert [(line.won, line.closed_on) for line in lines_of(date(2026, 2, 1), lost)] == [(None, None)]
    assert [(line.won, line.closed_on) for line in lines_of(date(2026, 2, 2), lost)] == [(False, date(2026, 2, 2))]


def test_a_reopened_deal_is_open_again(scripted, admin):
    from crm.deals.services import reopen_deal
    from crm.extensions import db

    _deal, _late, lost = scripted
    reopen_deal(admin, lost.id, at(date(2026, 3, 1)))
    db.session.commit()
    assert [line.won for line in lines_of(date(2026, 2, 15), lost)] == [False]
    assert [line.won for line in lines_of(date(2026, 3, 1), lost)] == [None]


def test_history_replays_stage_entry_and_touches(scripted, admin):
    from crm.contacts.services import record_activity
    from crm.extensions import db

    deal, _late, _lost = scripted
    record_activity("call", at(date(2026, 2, 10)), deal_id=deal.id, user_id=admin.id, details={})
    db.session.commit()
    [history] = [h for h in deal_histories() if h.deal_id == str(deal.id)]
    state = history.state_at(at(date(2026, 2, 20)))
    assert state.stage_entered_at == FEB2 and state.created_at == JAN5
    assert state.last_activity_at == at(date(2026, 2, 10))
    assert history.state_at(at(date(2026, 2, 5))).last_activity_at is None  # stage notes are no touch
