"""Comments pinned to a second, scorecards, sharing with the rep, who sees what, the queue's
filters, the library's clips and the rep's figures."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.alerts.models import Alert
from crm.errors import NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.reviews import services
from tests.crm.reviews.conftest import SEGMENTS_JSON

RUBRIC = {"name": "Discovery", "scoring": "weighted",
          "criteria": [{"name": "Questions", "weight": 3}, {"name": "Next step", "weight": 1}]}


def rate(rubric, *values):
    return {"rubric_id": rubric.id, "ratings": [{"criterion_id": c.id, "rating": v, "note": f"n{v}"}
                                                for c, v in zip(rubric.criteria, values)]}


def test_comment_at_a_second_and_beyond_the_end(mallory, alice, make_recording, now):
    recording = make_recording(alice, duration=90.0)
    comment = services.add_comment(mallory, recording.id, {"at_seconds": "42.25", "body": "Nice question"}, now=now)
    assert (comment.at_seconds, comment.author_id) == (42.25, mallory.id)
    services.add_comment(mallory, recording.id, {"at_seconds": 90.0, "body": "the last second"}, now=now)
    with pytest.raises(ValidationFailed) as caught:
        services.add_comment(mallory, recording.id, {"at_seconds": 90.5, "body": "too late"}, now=now)
    assert caught.value.status == 422 and "90.0 seconds" in caught.value.fields["at_seconds"]
    with pytest.raises(ValidationFailed) as caught:
        services.add_comment(mallory, recording.id, {"at_seconds": -1, "body": ""}, now=now)
    assert set(caught.value.fields) == {"at_seconds", "body"}


def test_replies_thread_under_their_parent_at_its_second(mallory, alice, make_recording, now):
    recording = make_recording(alice)
    top = services.add_comment(mallory, recording.id, {"at_seconds": 12, "body": "why?"}, now=now)
    services.share_feedback(mallory, recording.id, {"feedback": "see comments"}, now=now)
    reply = services.add_comment(alice, recording.id, {"parent_id": top.id, "body": "because"}, now=now)
    again = services.add_comment(mallory, recording.id, {"parent_id": reply.id, "body": "ok"}, now=now)
    assert (reply.parent_id, reply.at_seconds, again.parent_id) == (top.id, 12, top.id)
    threads = services.comments(alice, recording.id)
    assert [(t.comment.body, [r.body for r in t.replies]) for t in threads] == [("why?", ["because", "ok"])]
    kinds = set(db.session.scalars(select(Alert.kind).where(Alert.user_id == mallory.id)))
    assert "review_reply" in kinds


def test_the_rep_sees_the_review_only_once_shared_and_gets_an_alert(mallory, alice, make_recording, now):
    recording = make_recording(alice)
    rubric = services.create_rubric(mallory, RUBRIC, now=now)
    services.add_comment(mallory, recording.id, {"at_seconds": 5, "body": "draft"}, now=now)
    services.save_scorecard(mallory, recording.id, rate(rubric, 4, 2), now=now)
    with pytest.raises(PermissionDenied):
        services.comments(alice, recording.id)
    with pytest.raises(PermissionDenied):
        services.scorecards(alice, recording.id)
    assert services.review_state(alice, recording.id) is None
    with pytest.raises(PermissionDenied):  # a rep does not comment, only replies on a shared review
        services.add_comment(alice, recording.id, {"at_seconds": 5, "body": "me"}, now=now)
    services.share_feedback(mallory, recording.id, {"feedback": "Good discovery"}, now=now + timedelta(minutes=1))
    db.session.commit()
    alert = db.session.scalar(select(Alert).where(Alert.user_id == alice.id, Alert.kind == "review_shared"))
    assert alert is not None and alert.url == f"/recordings/{recording.id}"
    [card] = services.scorecards(alice, recording.id)
    assert card.score == pytest.approx((3 * 4 + 1 * 2) / 4)
    assert [t.comment.body for t in services.comments(alice, recording.id)] == ["draft"]
    review = services.review_state(alice, recording.id)
    assert review.feedback == "Good discovery" and review.reviewed_at is not None


def test_other_reps_planners_and_other_managers_see_nothing(mallory, alice, bob, charlie, pat, make_user,
                                                            make_recording, now):
    other_manager = make_user("manager", name="Olga Other")
    recording = make_recording(alice)
    services.share_feedback(mallory, recording.id, {"feedback": "shared"}, now=now)
    for outsider in (bob, charlie, other_manager):
        with pytest.raises(NotFound):
            services.comments(outsider, recording.id)
        with pytest.raises(NotFound):
            services.scorecards(outsider, recording.id)
        with pytest.raises(NotFound):
            services.transcript_lines(outsider, recording.id)
    with pytest.raises(PermissionDenied):
        services.comments(pat, recording.id)
    with pytest.raises(NotFound):
        services.add_comment(other_manager, recording.id, {"at_seconds": 1, "body": "x"}, now=now)
    with pytest.raises(PermissionDenied):
        services.review_queue(pat, {})
    with pytest.raises(PermissionDenied):
        services.list_folders(pat)


def test_scorecard_needs_every_criterion_and_replaces_the_reviewers_card(mallory, alice, make_recording, now):
    recording = make_recording(alice)
    rubric = services.create_rubric(mallory, {**RUBRIC, "scoring": "mean"}, now=now)
    with pytest.raises(ValidationFailed) as caught:
        services.save_scorecard(mallory, recording.id, {"rubric_id": rubric.id, "ratings": [
            {"criterion_id": rubric.criteria[0].id, "rating": 6}]}, now=now)
    assert "ratings.0.rating" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        services.save_scorecard(mallory, recording.id, {"rubric_id": rubric.id, "ratings": [
            {"criterion_id": rubric.criteria[0].id, "rating": 3}]}, now=now)
    assert f"ratings.{rubric.criteria[1].id}" in caught.value.fields
    services.save_scorecard(mallory, recording.id, rate(rubric, 4, 2), now=now)
    card = services.save_scorecard(mallory, recording.id, rate(rubric, 5, 4), now=now)
    cards = services.scorecards(mallory, recording.id)
    assert [c.id for c in cards] == [card.id] and card.score == 4.5
    assert sorted((r.rating, r.note) for r in card.ratings) == [(4, "n4"), (5, "n5")]


def test_rubric_rules(mallory, now):
    with pytest.raises(ValidationFailed) as caught:
        services.create_rubric(mallory, {"name": "R", "criteria": []}, now=now)
    assert "criteria" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        services.create_rubric(mallory, {"name": "R", "criteria": [{"name": "A"}, {"name": "a"}]}, now=now)
    with pytest.raises(ValidationFailed) as caught:
        services.create_rubric(mallory, {"name": "R", "criteria": [{"name": "A", "weight": 0}]}, now=now)
    assert "criteria.0.weight" in caught.value.fields


def ids(page):
    return [r.id for r in page.items]


def test_queue_lists_the_teams_unreviewed_analysed_calls_with_filters(mallory, alice, bob, charlie, make_recording,
                                                                      now):
    long_talker = make_recording(alice, duration=600, talk=0.8, days_ago=1, outcome="connected")
    short = make_recording(alice, duration=60, talk=0.3, days_ago=3, outcome="meeting_booked")
    bobs = make_recording(bob, duration=300, talk=0.5, days_ago=2, outcome="connected")
    make_recording(bob, status="pending", days_ago=1)      # not analysed yet
    make_recording(charlie, duration=300, days_ago=1)      # another team
    reviewed = make_recording(bob, duration=200, days_ago=4)
    services.mark_reviewed(mallory, reviewed.id, now=now)

    def queue(**filters):
        return ids(services.review_queue(mallory, filters)[0])

    assert queue() == [long_talker.id, bobs.id, short.id]
    assert queue(rep_id=bob.id) == [bobs.id]
    assert queue(outcome="meeting_booked") == [short.id]
    assert queue(min_minutes="4") == [long_talker.id, bobs.id]
    assert queue(max_minutes=2) == [short.id]
    assert queue(talk_min=60) == [long_talker.id]
    assert queue(talk_min=25, talk_max=55) == [bobs.id, short.id]
    day = (now - timedelta(days=2)).date()
    assert queue(date_from=day.isoformat(), date_to=day.isoformat()) == [bobs.id]
    tracker = services.create_tracker(mallory, {"name": "Budget", "phrases": ["budget"]}, now=now)
    services.save_transcript(bob, bobs.id, SEGMENTS_JSON, now=now, fmt="json")
    assert queue(tracker_id=tracker.id) == [bobs.id]
    page, _ = services.review_queue(mallory, {"per_page": 2, "page": 2})
    assert (ids(page), page.total, page.pages) == ([short.id], 3, 2)
    with pytest.raises(ValidationFailed) as caught:
        services.review_queue(mallory, {"talk_min": 70, "talk_max": 20})
    assert "talk_max" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        services.review_queue(mallory, {"min_minutes": "lots"})
    assert "min_minutes" in caught.value.fields


def test_library_clips_within_the_recording(mallory, alice, make_recording, now):
    recording = make_recording(alice, duration=100)
    folder = services.create_folder(mallory, {"name": "Objection handling"}, now=now)
    clip = services.add_clip(mallory, recording.id, {"folder_id": folder.id, "start_seconds": 10, "end_seconds": 25.5,
                                                     "note": "price"}, now=now)
    assert (clip.start_seconds, clip.end_seconds) == (10, 25.5)
    for bad, field in (({"start_seconds": 30, "end_seconds": 20}, "end_seconds"),
                       ({"start_seconds": 30, "end_seconds": 30}, "end_seconds"),
                       ({"start_seconds": 90, "end_seconds": 101}, "end_seconds"),
                       ({"start_seconds": -1, "end_seconds": 5}, "start_seconds")):
        with pytest.raises(ValidationFailed) as caught:
            services.add_clip(mallory, recording.id, {"folder_id": folder.id, **bad}, now=now)
        assert field in caught.value.fields, bad
    with pytest.raises(ValidationFailed):
        services.add_clip(mallory, recording.id, {"folder_id": folder.id + 99, "start_seconds": 1, "end_seconds": 2},
                          now=now)
    with pytest.raises(PermissionDenied):
        services.add_clip(alice, recording.id, {"folder_id": folder.id, "start_seconds": 1, "end_seconds": 2}, now=now)


def test_the_rep_sees_own_and_team_figures(mallory, alice, bob, charlie, make_recording, now):
    make_recording(alice, talk=0.7, monologue=60)
    make_recording(alice, talk=0.5, monologue=40)
    make_recording(bob, talk=0.3, monologue=20)
    make_recording(charlie, talk=0.9, monologue=200)  # another team: not in alice's average
    own, team = services.talk_figures(alice)
    assert (own.calls, own.talk_ratio, own.longest_monologue) == (2, pytest.approx(0.6), pytest.approx(50))
    assert (team.calls, team.talk_ratio, team.longest_monologue) == (3, pytest.approx(0.5), pytest.approx(40))


def test_my_reviews_lists_shared_reviews_only(mallory, alice, make_recording, now):
    first, second = make_recording(alice), make_recording(alice)
    services.mark_reviewed(mallory, first.id, now=now)
    services.share_feedback(mallory, second.id, {"feedback": "well done"}, now=now)
    page = services.my_reviews(alice)
    assert [item.recording.id for item in page.items] == [second.id]


def test_transcript_search_is_accent_insensitive_and_limited_to_visible_calls(mallory, alice, bob, charlie,
                                                                               make_recording, now):
    mine, bobs, charlies = make_recording(alice), make_recording(bob), make_recording(charlie)
    for rec, rep in ((mine, alice), (bobs, bob), (charlies, charlie)):
        services.save_transcript(rep, rec.id, SEGMENTS_JSON, now=now, fmt="json")
    found = services.search_transcripts(alice, "precío")
    # a substring search: "preciosa" is found too (trackers are the whole-word rule)
    assert {hit.recording.id for hit in found.items} == {mine.id} and found.total == 3
    assert {hit.recording.id for hit in services.search_transcripts(mallory, "SALESFORCE").items} == {mine.id, bobs.id}
    with pytest.raises(ValidationFailed):
        services.search_transcripts(alice, " a ")
    assert services.search_transcripts(alice, "100%_").total == 0  # LIKE wildcards are literal


def test_transcript_times_beyond_the_end_are_refused(alice, make_recording, now):
    recording = make_recording(alice, duration=10)
    with pytest.raises(ValidationFailed) as caught:
        services.save_transcript(alice, recording.id, SEGMENTS_JSON, now=now, fmt="json")
    assert any(key.startswith("transcript.segment") for key in caught.value.fields)
