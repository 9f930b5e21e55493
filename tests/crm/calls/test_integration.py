"""The queue with the real providers' tables (tracking events, sequence call tasks, scores,
meetings) rather than stand-ins."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from icalendar import Calendar

from crm.calls.outcomes import log_call
from crm.calls.queue import build_queue, queue_entries, refresh_live_intent
from crm.calls.settings import settings_for
from crm.extensions import db
from tests.crm.calls.conftest import NY_8AM

UTC = timezone.utc
AT = NY_8AM + timedelta(hours=1, minutes=15)  # 09:15 in New York


def test_a_human_open_joins_the_queue_at_the_top(ny_rep, callee):
    from crm.tracking.models import TrackingEvent

    others = [callee() for _ in range(3)]
    hot = callee()
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    db.session.add(TrackingEvent(kind="email_opened", occurred_at=AT - timedelta(minutes=4), contact_id=hot.id,
                                 label="'Pricing follow-up'", verdict="human", reason="test"))
    db.session.add(TrackingEvent(kind="email_opened", occurred_at=AT - timedelta(minutes=2), contact_id=others[0].id,
                                 label="'Pricing follow-up'", verdict="privacy_proxy", reason="test"))
    db.session.commit()
    assert refresh_live_intent(ny_rep, AT) == 1
    first = queue_entries(ny_rep.id, AT.date())[0]
    assert (first.contact_id, first.reason_code, first.reason) == (
        hot.id, "live_intent", "opened 'Pricing follow-up' 4 min ago")


def test_a_sequence_call_step_is_queued_and_completed_by_the_call(ny_rep, callee):
    from crm.sequences.models import Enrollment, Sequence, SequenceStep, SequenceTask

    contact = callee()
    sequence = Sequence(name="Q4 outbound", owner_id=ny_rep.id)
    db.session.add(sequence)
    db.session.flush()
    steps = [SequenceStep(sequence_id=sequence.id, position=n, kind=kind, delay_days=1)
             for n, kind in ((1, "manual_email"), (2, "manual_email"), (3, "call"))]
    db.session.add_all(steps)
    db.session.flush()
    enrollment = Enrollment(sequence_id=sequence.id, contact_id=contact.id, user_id=ny_rep.id, status="active",
                            current_step_id=steps[2].id, awaiting="task")
    db.session.add(enrollment)
    db.session.flush()
    task = SequenceTask(enrollment_id=enrollment.id, step_id=steps[2].id, contact_id=contact.id, owner_id=ny_rep.id,
                        kind="call", due_at=NY_8AM - timedelta(days=1))
    db.session.add(task)
    db.session.commit()
    entry = build_queue(ny_rep, NY_8AM)[0]
    assert (entry.reason_code, entry.reason, entry.task_id) == (
        "call_task", "step 3 of 'Q4 outbound', due yesterday", task.id)
    logged = log_call(ny_rep, contact_id=contact.id, entry_id=entry.id, outcome="voicemail", now=AT)
    db.session.commit()
    assert logged.task_completed
    db.session.refresh(task)
    assert task.done_at == AT and task.outcome == "voicemail"


def test_scores_order_the_rest_of_the_queue(ny_rep, callee):
    from crm.scoring.models import ContactScore

    low, high, unscored = callee(), callee(), callee()
    for contact, engagement, key in ((low, 5.0, 10.0), (high, 40.0, 20.0)):
        db.session.add(ContactScore(contact_id=contact.id, engagement=engagement, engagement_as_of=NY_8AM,
                                    fit=10.0, score=engagement, rank_key=key, updated_at=NY_8AM,
                                    owner_id=ny_rep.id))
    db.session.commit()
    entries = build_queue(ny_rep, NY_8AM)
    assert [e.contact_id for e in entries][:2] == [high.id, low.id]
    assert entries[0].reason.startswith("score ")
    assert entries[2].contact_id == unscored.id


def test_meetings_appear_in_the_calendar_and_the_feed(client, login, ny_rep, clock):
    from crm.meetings.models import Meeting

    db.session.add(Meeting(host_id=ny_rep.id, title="Intro with Grace", start_at=datetime(2026, 3, 10, 15, tzinfo=UTC),
                           end_at=datetime(2026, 3, 10, 15, 30, tzinfo=UTC), uid="m1@test", guest_name="Grace",
                           guest_email="grace@example.com"))
    token = settings_for(ny_rep).feed_token
    db.session.commit()
    clock.freeze(AT)
    login(client, ny_rep)
    html = client.get("/calls/calendar?view=day&date=2026-03-10").get_data(as_text=True)
    assert "9:00 AM–10:30 AM Prospecting" in html and "11:00 AM–11:30 AM Intro with Grace" in html  # en-US clock
    calendar = Calendar.from_ical(client.get(f"/calls/feed/{token}.ics").data)
    assert sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT")) == ["Intro with Grace", "Prospecting"]
