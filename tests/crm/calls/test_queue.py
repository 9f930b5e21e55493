"""Building the queue: each source with its own scenario, exclusions, calling hours in the
contact's zone (Tokyo vs a New York rep), sizing to block capacity, live intent joining."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from crm.calls.models import CallQueueEntry, CallTask
from crm.calls.outcomes import log_call
from crm.calls.queue import build_queue, next_entry, queue_entries, refresh_live_intent
from crm.contacts.timeline import record_activity
from crm.extensions import db
from tests.crm.calls.conftest import NY_8AM

UTC = timezone.utc
NY_1030 = NY_8AM + timedelta(hours=2, minutes=30)


def codes(entries):
    return [(e.contact_id, e.reason_code) for e in entries]


def test_tokyo_contact_is_held_for_a_new_york_morning_and_called_when_theirs_comes(ny_rep, callee):
    tokyo = callee("Asia/Tokyo")
    local = callee("America/New_York")
    entries = build_queue(ny_rep, NY_8AM)
    db.session.commit()
    by_contact = {e.contact_id: e for e in entries}
    # 08:00 in New York is 21:00 in Tokyo: Tokyo opens at 09:00 JST = 20:00 New York time.
    assert by_contact[tokyo.id].held_until == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    assert by_contact[local.id].held_until == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert next_entry(ny_rep, NY_8AM) is None  # nobody callable at 08:00
    assert next_entry(ny_rep, NY_8AM + timedelta(hours=1)).contact_id == local.id
    log_call(ny_rep, contact_id=local.id, outcome="no_answer", now=NY_8AM + timedelta(hours=1))
    assert next_entry(ny_rep, NY_8AM + timedelta(hours=2)) is None  # Tokyo still asleep
    assert next_entry(ny_rep, datetime(2026, 3, 11, 0, 5, tzinfo=UTC)).contact_id == tokyo.id


def test_calling_hours_follow_the_contacts_dst(ny_rep, callee):
    # London is still on GMT on 10 March (BST starts 29 March): 09:00 London = 09:00 UTC, already
    # open at 08:00 New York (12:00 UTC). On 30 March 08:00 EDT = 12:00 UTC = 13:00 BST: open too,
    # but a Los Angeles contact opens at 09:00 PDT = 16:00 UTC.
    london, la = callee("Europe/London"), callee("America/Los_Angeles")
    entries = {e.contact_id: e for e in build_queue(ny_rep, NY_8AM)}
    assert entries[london.id].held_until is None
    assert entries[la.id].held_until == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)  # PDT since 8 March
    winter = datetime(2026, 3, 5, 13, 0, tzinfo=UTC)  # Thursday 08:00 EST
    entries = {e.contact_id: e for e in build_queue(ny_rep, winter)}
    assert entries[la.id].held_until == datetime(2026, 3, 5, 17, 0, tzinfo=UTC)  # 09:00 PST


def test_queue_is_sized_to_the_blocked_time(ny_rep, callee):
    contacts = [callee() for _ in range(25)]
    assert len(build_queue(ny_rep, NY_8AM)) == 18  # 90 minutes x 12 calls an hour
    from crm.calls.settings import set_calls_per_hour
    set_calls_per_hour(ny_rep, 4, NY_8AM)
    assert len(build_queue(ny_rep, NY_8AM)) == 6
    assert len(contacts) == 25


def test_without_blocks_only_live_intent_and_callbacks_are_queued(alice, make_contact, live_intent):
    contact = make_contact(owner_id=alice.id, phone="+44 20 7946 0000")
    make_contact(owner_id=alice.id, phone="+44 20 7946 0001")
    live_intent(contact.id, NY_8AM - timedelta(minutes=3))
    entries = build_queue(alice, NY_8AM)
    assert codes(entries) == [(contact.id, "live_intent")]
    assert entries[0].reason == "opened 'Pricing follow-up' 3 min ago"


def test_exclusions(ny_rep, callee, make_user):
    keep = callee()
    dnc = callee(do_not_contact=True)
    no_phone = callee(phone=None)
    bad = callee()
    bad.phone_invalid_at = NY_8AM - timedelta(days=2)
    called = callee()
    record_activity("call", NY_8AM - timedelta(minutes=30) + timedelta(hours=0), contact_id=called.id,
                    user_id=make_user("rep").id, details={"outcome": "no_answer"})  # 07:30 today, by a colleague
    recently = callee()
    record_activity("email_sent", NY_8AM - timedelta(days=2), contact_id=recently.id)
    db.session.commit()
    ids = {e.contact_id for e in build_queue(ny_rep, NY_8AM)}
    assert ids == {keep.id}
    assert {dnc.id, no_phone.id, bad.id, called.id, recently.id}.isdisjoint(ids)


def test_due_call_tasks_and_their_reason(ny_rep, callee, call_tasks):
    scored, overdue, today = callee(), callee(), callee()
    call_tasks(11, overdue.id, NY_8AM - timedelta(days=1))
    call_tasks(12, today.id, NY_8AM - timedelta(hours=1), sequence="Inbound demo", step=1)
    entries = build_queue(ny_rep, NY_8AM)
    assert codes(entries)[:2] == [(overdue.id, "call_task"), (today.id, "call_task")]
    assert entries[0].reason == "step 3 of 'Q4 outbound', due yesterday"
    assert entries[0].task_id == 11
    assert (scored.id, "score") in codes(entries)


def test_converted_since_the_last_working_day(ny_rep, callee):
    monday = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    form, reply, stale, other_owner = callee(), callee(), callee(), callee(owner_id=None)
    record_activity("form_submitted", datetime(2026, 3, 6, 18, tzinfo=UTC), contact_id=form.id,
                    details={"form": "the demo request form"})  # Friday: the last working day before Monday
    record_activity("email_replied", datetime(2026, 3, 8, 15, tzinfo=UTC), contact_id=reply.id,
                    details={"subject": "Valve retrofit"})
    record_activity("form_submitted", datetime(2026, 3, 5, 18, tzinfo=UTC), contact_id=stale.id)  # Thursday
    record_activity("form_submitted", datetime(2026, 3, 8, 15, tzinfo=UTC), contact_id=other_owner.id)
    db.session.commit()
    entries = build_queue(ny_rep, monday)
    converted = [(e.contact_id, e.reason) for e in entries if e.reason_code == "converted"]
    assert converted == [(reply.id, "replied to 'Valve retrofit' yesterday"),
                         (form.id, "submitted the demo request form on Friday")]
    assert entries[0].reason_code == "converted"


def test_callbacks_are_held_until_their_time_and_beat_scores(ny_rep, callee):
    promised, scored = callee(), callee()
    db.session.add(CallTask(user_id=ny_rep.id, contact_id=promised.id, kind="callback", title="asked",
                            due_at=datetime(2026, 3, 10, 18, 0, tzinfo=UTC), created_at=NY_8AM))
    db.session.commit()
    entries = {e.contact_id: e for e in build_queue(ny_rep, NY_8AM)}
    assert entries[promised.id].reason_code == "callback"
    assert entries[promised.id].held_until == datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    assert "promised for Tue, 2:00 PM (asked)" in entries[promised.id].reason  # en-US clock
    later = datetime(2026, 3, 10, 18, 1, tzinfo=UTC)
    assert next_entry(ny_rep, later).contact_id == promised.id  # ahead of the scored contact
    assert entries[scored.id].reason_code == "score"


def test_highest_scores_not_contacted_recently(ny_rep, callee, monkeypatch):
    from crm.calls import queue

    low, high, unscored = callee(), callee(), callee()
    monkeypatch.setattr(queue, "top_scored_contacts",
                        lambda owner_id, now, limit, exclude_ids=frozenset(): [(high.id, 88.0), (low.id, 41.0)])
    entries = build_queue(ny_rep, NY_8AM)
    assert codes(entries)[:2] == [(high.id, "score"), (low.id, "score")]
    assert entries[0].reason.startswith("score 88")
    assert unscored.id in {e.contact_id for e in entries}  # the book fills what scores leave


def test_live_intent_joins_during_the_day_at_the_top(ny_rep, callee, live_intent):
    others = [callee() for _ in range(3)]
    hot = callee()
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    at = NY_1030 - timedelta(minutes=20)
    live_intent(hot.id, at - timedelta(minutes=2), label="read /pricing", kind="page_viewed")
    assert refresh_live_intent(ny_rep, at) == 1
    entries = queue_entries(ny_rep.id, date(2026, 3, 10))
    assert codes(entries)[0] == (hot.id, "live_intent") and entries[0].position == 1
    assert [e.position for e in entries] == [1, 2, 3, 4]
    assert len(others) == 3
    assert refresh_live_intent(ny_rep, at) == 0  # already at the top: nothing moves


def test_rebuilding_keeps_logged_entries_and_does_not_requeue_them(ny_rep, callee):
    a, b = callee(), callee()
    build_queue(ny_rep, NY_8AM)
    log_call(ny_rep, contact_id=a.id, outcome="voicemail", now=NY_8AM + timedelta(hours=1, minutes=5))
    db.session.commit()
    entries = build_queue(ny_rep, NY_8AM + timedelta(hours=1, minutes=10))
    assert codes(entries) == [(b.id, "score")]
    done = db.session.query(CallQueueEntry).filter_by(contact_id=a.id).one()
    assert done.status == "done" and done.outcome == "voicemail"


def test_morning_job_builds_once_per_rep_day(ny_rep, callee, mallory):
    from crm.calls.jobs import build_morning_queues
    from crm.calls.models import CallSettings

    callee()
    mallory.time_zone = "Asia/Tokyo"  # 18:00+ in Tokyo: already built for the day below
    db.session.commit()

    def built_on():
        settings = db.session.get(CallSettings, ny_rep.id)
        return settings.queue_built_on if settings else None

    build_morning_queues(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))  # 05:00 in New York
    assert built_on() is None
    assert build_morning_queues(datetime(2026, 3, 10, 10, 10, tzinfo=UTC)) == 1  # 06:10: alice only
    assert built_on() == date(2026, 3, 10)
    assert build_morning_queues(datetime(2026, 3, 10, 10, 20, tzinfo=UTC)) == 0
    assert len(queue_entries(ny_rep.id, date(2026, 3, 10))) == 1
