"""The priority function, rule by rule, with hand-built candidates (no database)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crm.calls.priority import Candidate, best_per_contact, priority

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)


def c(code, contact_id=1, minutes_ago=0, score=0.0):
    return Candidate(contact_id, code, code, NOW - timedelta(minutes=minutes_ago), score=score)


def test_live_intent_outranks_everything_and_fresher_first():
    fresh, older = c("live_intent", minutes_ago=1), c("live_intent", minutes_ago=25)
    assert priority(fresh, NOW) > priority(older, NOW)
    for other in (c("call_task", minutes_ago=60 * 24 * 30), c("converted"), c("callback", minutes_ago=500),
                  c("score", score=100)):
        assert priority(older, NOW) > priority(other, NOW)


def test_due_call_tasks_come_next_more_overdue_first():
    overdue, due_now = c("call_task", minutes_ago=60 * 26), c("call_task", minutes_ago=0)
    assert priority(overdue, NOW) > priority(due_now, NOW)
    assert priority(due_now, NOW) > priority(c("converted", minutes_ago=0), NOW)


def test_converted_leads_beat_callbacks_and_scores_newest_first():
    assert priority(c("converted", minutes_ago=10), NOW) > priority(c("converted", minutes_ago=60 * 20), NOW)
    assert priority(c("converted", minutes_ago=60 * 40), NOW) > priority(c("callback", minutes_ago=900), NOW)


def test_callbacks_beat_scores_longest_waiting_first():
    assert priority(c("callback", minutes_ago=30), NOW) > priority(c("callback", minutes_ago=5), NOW)
    assert priority(c("callback", minutes_ago=0), NOW) > priority(c("score", score=100), NOW)


def test_scores_order_by_score():
    assert priority(c("score", score=91), NOW) > priority(c("score", score=90), NOW)
    assert priority(c("score", score=0), NOW) >= 1000


def test_a_contact_keeps_its_best_reason_and_ties_are_stable():
    ranked = best_per_contact([c("score", 7, score=80), c("converted", 7), c("score", 3, score=80),
                               c("score", 2, score=80)], NOW)
    assert [(cand.contact_id, cand.reason_code) for cand, _ in ranked] == [(7, "converted"), (2, "score"), (3, "score")]
