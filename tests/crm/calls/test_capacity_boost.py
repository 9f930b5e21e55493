"""Spare capacity in the published plan boosts the call queue: contacts with open deals (or a
recent win) in a family with room get the boost and the reason, never past a higher band."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from babel.dates import format_date

from crm.calls.priority import BANDS, CAPACITY_BOOST, Candidate, priority
from crm.calls.queue import build_queue, preview_queue
from crm.deals.services import close_deal
from crm.extensions import db
from crm.public import NO_PLAN_FEEDBACK, plan_feedback, set_plan_feedback
from tests.crm.calls.conftest import NY_8AM
from tests.crm.targets.conftest import MONTH_AFTER, NEXT_MONTH, THIS_MONTH, FakePlanFeedback


@pytest.fixture
def feedback(app):
    before = plan_feedback()  # the app's own provider (the S&OP side's), put back after
    fake = FakePlanFeedback()
    set_plan_feedback(app, fake)
    yield fake
    set_plan_feedback(app, before)


def spare(feedback, family, months, capacity=1000, slack=400):
    for month in months:
        feedback.publish(family, month, 500, capacity=capacity)
        feedback.slack[(family, month)] = Decimal(slack)


def open_deal(make_deal, stages, owner, contact, family="PUMP"):
    return make_deal(actor=owner, owner_id=owner.id, contact_id=contact.id, stage_id=stages[1].id,
                     expected_close=NY_8AM.date() + timedelta(days=20),
                     lines=[{"family": family, "quantity": 5, "unit_price": "10.00"}])


def reason_of(entries, contact):
    return next(e for e in entries if e.contact_id == contact.id)


def test_a_contact_with_an_open_deal_in_a_spare_family_gets_the_boost_and_reason(
        feedback, ny_rep, callee, make_deal, stages):
    spare(feedback, "PUMP", [NEXT_MONTH, MONTH_AFTER])
    buyer = callee(owner_id=None)  # not in the rep's book: the deal brings them in
    in_book, other = callee(), callee()
    open_deal(make_deal, stages, ny_rep, buyer)
    open_deal(make_deal, stages, ny_rep, in_book)
    entries = build_queue(ny_rep, NY_8AM)
    db.session.commit()
    expected = f"spare capacity in PUMP for {NEXT_MONTH:%b}–{MONTH_AFTER:%b}"
    joined = reason_of(entries, buyer)
    assert joined.reason_code == "capacity" and joined.reason == expected
    boosted = reason_of(entries, in_book)
    assert boosted.reason_code == "score" and boosted.reason.endswith("; " + expected)
    # both boosted above the plain book entry (equal boosts: by contact id)
    assert [e.contact_id for e in entries] == [buyer.id, in_book.id, other.id]
    assert "spare" not in reason_of(entries, other).reason


def test_slack_under_the_threshold_or_no_plan_gives_no_boost(feedback, ny_rep, callee, make_deal, stages, app):
    spare(feedback, "PUMP", [THIS_MONTH], capacity=1000, slack=100)  # 10 %: not above the default 10 %
    buyer = callee()
    open_deal(make_deal, stages, ny_rep, buyer)
    assert reason_of(preview_queue(ny_rep, NY_8AM, NY_8AM.date()), buyer).reason_code == "score"
    app.config["TARGETS_SPARE_CAPACITY_SHARE"] = "0.05"
    try:
        boosted = reason_of(preview_queue(ny_rep, NY_8AM, NY_8AM.date()), buyer)
    finally:
        app.config.pop("TARGETS_SPARE_CAPACITY_SHARE")
    assert boosted.reason.endswith(f"; spare capacity in PUMP for {THIS_MONTH:%b}")
    set_plan_feedback(app, NO_PLAN_FEEDBACK)
    assert reason_of(preview_queue(ny_rep, NY_8AM, NY_8AM.date()), buyer).reason_code == "score"


def test_a_past_win_counts_as_interest_and_a_family_without_room_does_not(
        feedback, ny_rep, callee, make_deal, stages, admin):
    spare(feedback, "VALVE", [THIS_MONTH, MONTH_AFTER])
    feedback.publish("PUMP", THIS_MONTH, 500, capacity=500)
    feedback.slack[("PUMP", THIS_MONTH)] = Decimal(0)
    repeat, pump_only = callee(), callee()
    won = open_deal(make_deal, stages, ny_rep, repeat, family="VALVE")
    close_deal(admin, won.id, won=True, now=NY_8AM, closed_on=NY_8AM.date() - timedelta(days=100))
    open_deal(make_deal, stages, ny_rep, pump_only, family="PUMP")
    db.session.commit()
    entries = preview_queue(ny_rep, NY_8AM, NY_8AM.date())
    assert reason_of(entries, repeat).reason.endswith(f"spare capacity in VALVE for {THIS_MONTH:%b}, {MONTH_AFTER:%b}")
    assert "spare" not in reason_of(entries, pump_only).reason


def test_the_boost_stays_inside_its_band_and_is_appended_to_a_higher_reason(
        feedback, ny_rep, callee, make_deal, stages, call_tasks):
    spare(feedback, "PUMP", [THIS_MONTH])
    buyer = callee()
    open_deal(make_deal, stages, ny_rep, buyer)
    call_tasks(7, buyer.id, NY_8AM - timedelta(hours=1))
    entry = reason_of(build_queue(ny_rep, NY_8AM), buyer)
    assert entry.reason_code == "call_task"
    assert entry.reason.endswith(f"; spare capacity in PUMP for {THIS_MONTH:%b}")
    live = Candidate(1, "live_intent", "", NY_8AM, boost=CAPACITY_BOOST)
    assert priority(live, NY_8AM) < BANDS["live_intent"] + 1000
    boosted_score = Candidate(1, "score", "", NY_8AM, score=90, boost=CAPACITY_BOOST)
    assert BANDS["score"] < priority(boosted_score, NY_8AM) < BANDS["callback"]


def test_the_capacity_reason_reads_in_the_reps_language_with_its_month_names(
        feedback, ny_rep, callee, make_deal, stages):
    ny_rep.language = "es"
    db.session.commit()
    spare(feedback, "PUMP", [NEXT_MONTH, MONTH_AFTER])
    buyer = callee(owner_id=None)
    open_deal(make_deal, stages, ny_rep, buyer)
    entries = build_queue(ny_rep, NY_8AM)
    db.session.commit()
    months = "–".join(format_date(m, "LLL", locale="es_MX") for m in (NEXT_MONTH, MONTH_AFTER))
    assert reason_of(entries, buyer).reason == f"capacidad disponible en PUMP para {months}"
    assert months == months.lower()  # Spanish month names, not "Feb–Mar"
