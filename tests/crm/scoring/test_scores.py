"""Engagement arithmetic: decay against a hand-computed example, incremental == from scratch
for any order (hypothesis), and the rank key ordering contacts like their score now."""
from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.extensions import db
from crm.scoring import scores
from crm.scoring.models import ContactScore, ScoringSettings
from crm.scoring.scores import add_event, engagement_from_scratch, recompute_all, record_event
from crm.scoring.services import score_summaries, top_scored_contacts
from tests.conftest import NOW

H = 14 * 24.0  # default half-life in hours


def test_decay_matches_a_hand_computed_example():
    # 10 points (pricing page) 14 days ago and 2 points (open) 7 days ago, read now:
    # 10 * 1/2 + 2 * 2^-0.5 = 5 + 1.41421356...
    value, as_of = add_event(0.0, None, 10.0, NOW - timedelta(days=14), H)
    value, as_of = add_event(value, as_of, 2.0, NOW - timedelta(days=7), H)
    assert scores.engagement_at(value, as_of, NOW, H) == pytest.approx(6.414213562, rel=1e-9)


def test_an_older_event_is_decayed_to_the_stored_time():
    value, as_of = add_event(0.0, None, 4.0, NOW, H)
    value, as_of = add_event(value, as_of, 8.0, NOW - timedelta(days=28), H)  # arrives late
    assert as_of == NOW
    assert value == pytest.approx(4.0 + 8.0 / 4.0)


events = st.lists(
    st.tuples(st.sampled_from([1.0, 2.0, 5.0, 10.0, 20.0, 30.0]),
              st.integers(min_value=0, max_value=400 * 24 * 3600)),
    min_size=1, max_size=40,
)


@given(events, st.randoms(use_true_random=False), st.floats(min_value=0.5, max_value=90))
def test_incremental_equals_recompute_for_any_order(raw, rnd, half_life_days):
    h = half_life_days * 24.0
    items = [(p, NOW - timedelta(seconds=s)) for p, s in raw]
    rnd.shuffle(items)
    value, as_of = 0.0, None
    for points, at in items:
        value, as_of = add_event(value, as_of, points, at, h)
    expected, expected_as_of = engagement_from_scratch(items, h)
    assert as_of == expected_as_of
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["page_viewed", "email_opened", "email_clicked", "form_submitted"]),
                          st.sampled_from([None, "https://acme.example/pricing", "https://acme.example/blog"]),
                          st.integers(min_value=0, max_value=90 * 24)),
                min_size=1, max_size=15))
def test_stored_incremental_score_equals_recompute_all(make_contact, raw):
    contact = make_contact()
    try:
        for kind, url, hours_ago in raw:
            record_event(contact.id, kind, NOW - timedelta(hours=hours_ago), url=url)
        db.session.commit()
        row = db.session.get(ContactScore, contact.id)
        incremental = (row.engagement, row.engagement_as_of, row.rank_key)
        recompute_all(NOW)
        db.session.commit()
        row = db.session.get(ContactScore, contact.id)
        assert row.engagement_as_of == incremental[1]
        assert row.engagement == pytest.approx(incremental[0], rel=1e-9)
        assert row.rank_key == pytest.approx(incremental[2], rel=1e-12)
    finally:
        db.session.rollback()
        db.session.execute(scores.ScoreEvent.__table__.delete())
        db.session.execute(ContactScore.__table__.delete())
        db.session.commit()


def test_default_points_and_machine_free_contract(make_contact):
    contact = make_contact()
    record_event(contact.id, "page_viewed", NOW, url="https://acme.example/pricing?plan=pro")
    record_event(contact.id, "page_viewed", NOW, url="https://acme.example/blog")
    record_event(contact.id, "email_opened", NOW)
    record_event(contact.id, "email_clicked", NOW)
    record_event(contact.id, "form_submitted", NOW)
    record_event(contact.id, "email_replied", NOW)
    db.session.commit()
    row = db.session.get(ContactScore, contact.id)
    assert row.engagement == pytest.approx(10 + 1 + 2 + 5 + 20 + 30)


def test_naive_time_is_refused(make_contact):
    contact = make_contact()
    with pytest.raises(ValueError):
        record_event(contact.id, "email_opened", NOW.replace(tzinfo=None))


def test_rank_key_orders_like_the_score_now(make_user, make_contact):
    rep = make_user("rep")
    old_big = make_contact(owner_id=rep.id)  # 40 points 60 days ago: 40/2^(60/14) = 2.0 now
    fresh_small = make_contact(owner_id=rep.id)  # 3 points an hour ago
    nothing = make_contact(owner_id=rep.id)
    other_owner = make_contact()
    for _ in range(2):
        record_event(old_big.id, "form_submitted", NOW - timedelta(days=60))
    record_event(fresh_small.id, "email_opened", NOW - timedelta(hours=1))
    record_event(fresh_small.id, "page_viewed", NOW - timedelta(hours=1), url="/about")
    record_event(other_owner.id, "email_replied", NOW)
    db.session.commit()
    ranked = top_scored_contacts(rep.id, NOW, 10)
    assert [cid for cid, _ in ranked] == [fresh_small.id, old_big.id]
    assert ranked[0][1] > ranked[1][1] > 0
    # 60 days earlier the big one led: the key is the same, the order by score then differs,
    # so check the key against the score formula directly.
    for cid, score in ranked:
        row = db.session.get(ContactScore, cid)
        assert score == pytest.approx(scores.score_now(row, NOW, scores.load_ruleset()))
    assert top_scored_contacts(rep.id, NOW, 10, exclude_ids={fresh_small.id}) == [ranked[1]]
    assert nothing.id not in [cid for cid, _ in ranked]


def test_half_life_change_and_recompute(make_contact):
    contact = make_contact()
    record_event(contact.id, "form_submitted", NOW - timedelta(days=7))
    db.session.commit()
    db.session.get(ScoringSettings, 1).half_life_days = 7.0
    db.session.commit()
    recompute_all(NOW)
    db.session.commit()
    summary = score_summaries([contact.id], NOW)[contact.id]
    assert summary.engagement == pytest.approx(10.0)


def test_score_decays_over_time(make_contact):
    contact = make_contact()
    record_event(contact.id, "email_replied", NOW)
    db.session.commit()
    now_score = score_summaries([contact.id], NOW)[contact.id]
    later = score_summaries([contact.id], NOW + timedelta(days=14))[contact.id]
    assert later.engagement == pytest.approx(now_score.engagement / 2)
    assert later.score < now_score.score
    assert math.isclose(now_score.engagement, 30.0)
