"""Logging calls: the activity, wrong numbers, callbacks, follow-ups, sequence tasks, and the
double log (two tabs) producing one outcome — sequentially on every database, concurrently
with threads on PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from crm.calls.models import CallQueueEntry, CallTask
from crm.calls.outcomes import log_call
from crm.calls.queue import build_queue
from crm.contacts.models import Activity, Contact
from crm.errors import Conflict, ValidationFailed
from crm.extensions import db
from tests.conftest import csrf_from
from tests.crm.calls.conftest import NY_8AM

UTC = timezone.utc
IN_BLOCK = NY_8AM + timedelta(hours=1, minutes=10)


def test_logging_writes_a_call_activity_and_closes_the_entry(ny_rep, callee):
    contact = callee()
    entry = build_queue(ny_rep, NY_8AM)[0]
    db.session.commit()
    logged = log_call(ny_rep, contact_id=contact.id, outcome="connected", notes="Wants a quote",
                      duration_seconds=184, now=IN_BLOCK)
    db.session.commit()
    activity = db.session.get(Activity, logged.activity.id)
    assert activity.kind == "call" and activity.user_id == ny_rep.id
    assert activity.details["outcome"] == "connected" and activity.details["duration_seconds"] == 184
    assert activity.details["notes"] == "Wants a quote"
    db.session.refresh(entry)
    assert (entry.status, entry.outcome, entry.activity_id) == ("done", "connected", activity.id)


def test_wrong_number_flags_the_phone_and_drops_the_contact_from_tomorrows_queue(ny_rep, callee):
    contact = callee()
    build_queue(ny_rep, NY_8AM)
    log_call(ny_rep, contact_id=contact.id, outcome="wrong_number", now=IN_BLOCK)
    db.session.commit()
    assert db.session.get(Contact, contact.id).phone_invalid_at == IN_BLOCK
    assert build_queue(ny_rep, NY_8AM + timedelta(days=1)) == []


def test_callback_and_follow_up_tasks(ny_rep, callee):
    contact = callee()
    back_at = datetime(2026, 3, 11, 14, 0, tzinfo=UTC)
    logged = log_call(ny_rep, contact_id=contact.id, outcome="callback", now=IN_BLOCK, callback_at=back_at,
                      follow_up={"title": "Send the case study", "due_at": back_at})
    db.session.commit()
    tasks = {t.kind: t for t in db.session.query(CallTask).all()}
    assert tasks["callback"].due_at == back_at and tasks["callback"].id == logged.callback_id
    assert tasks["follow_up"].title == "Send the case study"
    tomorrow = build_queue(ny_rep, NY_8AM + timedelta(days=1))
    assert [(e.contact_id, e.reason_code, e.held_until) for e in tomorrow] == [(contact.id, "callback", back_at)]
    log_call(ny_rep, contact_id=contact.id, outcome="connected", now=back_at + timedelta(minutes=2))
    db.session.commit()
    assert db.session.get(CallTask, logged.callback_id).done_at is not None  # the promise was kept


def test_a_callback_needs_a_future_time(ny_rep, callee):
    contact = callee()
    for when in (None, IN_BLOCK - timedelta(minutes=1)):
        with pytest.raises(ValidationFailed) as caught:
            log_call(ny_rep, contact_id=contact.id, outcome="callback", now=IN_BLOCK, callback_at=when)
        assert "callback_at" in caught.value.fields


def test_the_sequence_call_task_is_completed(ny_rep, callee, call_tasks):
    contact = callee()
    call_tasks(41, contact.id, NY_8AM - timedelta(hours=3))
    entry = build_queue(ny_rep, NY_8AM)[0]
    assert entry.task_id == 41
    logged = log_call(ny_rep, contact_id=contact.id, entry_id=entry.id, outcome="voicemail", now=IN_BLOCK)
    assert logged.task_completed and call_tasks.state["completed"] == [41]


def test_logging_the_same_entry_twice_gives_one_outcome(ny_rep, callee):
    contact = callee()
    entry = build_queue(ny_rep, NY_8AM)[0]
    db.session.commit()
    log_call(ny_rep, contact_id=contact.id, entry_id=entry.id, outcome="connected", now=IN_BLOCK)
    db.session.commit()
    with pytest.raises(Conflict):
        log_call(ny_rep, contact_id=contact.id, entry_id=entry.id, outcome="no_answer", now=IN_BLOCK)
    db.session.rollback()
    assert db.session.query(Activity).filter_by(kind="call").count() == 1


def test_two_browser_tabs_logging_the_same_entry(client, app, ny_rep, callee, login, clock):
    contact = callee()
    entry = build_queue(ny_rep, NY_8AM)[0]
    db.session.commit()
    clock.freeze(IN_BLOCK)
    login(client, ny_rep)
    tab_one = csrf_from(client.get(f"/calls/work/{entry.id}").get_data(as_text=True))
    tab_two = csrf_from(client.get(f"/calls/work/{entry.id}").get_data(as_text=True))
    first = client.post(f"/calls/work/{entry.id}/log", data={"csrf_token": tab_one, "outcome": "connected"})
    second = client.post(f"/calls/work/{entry.id}/log", data={"csrf_token": tab_two, "outcome": "voicemail"})
    assert first.status_code == second.status_code == 302
    assert "already logged" in client.get(second.headers["Location"], follow_redirects=True).get_data(as_text=True)
    outcomes = [a.details["outcome"] for a in db.session.query(Activity).filter_by(kind="call")]
    assert outcomes == ["connected"]
    assert contact.id == entry.contact_id


@pytest.mark.skipif("not __import__('os').environ.get('TEST_DATABASE_URL')",
                    reason="real concurrency needs PostgreSQL (SQLite serialises whole-database writes)")
def test_concurrent_logging_on_postgresql_gives_one_outcome(app, ny_rep, callee):
    contact = callee()
    entry = build_queue(ny_rep, NY_8AM)[0]
    db.session.commit()
    entry_id, contact_id, rep_id = entry.id, contact.id, ny_rep.id
    barrier = threading.Barrier(4)
    results: list[str] = []

    def tab(outcome):
        with app.app_context():
            from crm.auth.models import User

            rep = db.session.get(User, rep_id)
            barrier.wait()
            try:
                log_call(rep, contact_id=contact_id, entry_id=entry_id, outcome=outcome, now=IN_BLOCK)
                db.session.commit()
                results.append("logged")
            except Conflict:
                db.session.rollback()
                results.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=tab, args=(o,)) for o in ("connected", "voicemail", "no_answer", "callback")]
    # "callback" without a time is refused before the claim: count it separately
    threads[-1] = threading.Thread(target=tab, args=("not_interested",))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["conflict", "conflict", "conflict", "logged"]
    db.session.expire_all()
    assert db.session.query(Activity).filter_by(kind="call").count() == 1
    assert db.session.get(CallQueueEntry, entry_id).status == "done"
