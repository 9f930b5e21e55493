"""Queue and blocks stay consistent (issue 20): the queue counts only the blocked time still
ahead today, and a change to the blocks (or the pace) resizes a queue already built."""
from __future__ import annotations

from datetime import date, time, timedelta

from crm.calls.blocks import blocked_minutes, create_block, delete_block
from crm.calls.models import CallQueueEntry
from crm.calls.queue import build_queue, capacity_for, queue_entries, resize_after_change
from crm.extensions import db
from tests.conftest import csrf_from
from tests.crm.calls.conftest import NY_8AM

TUESDAY = date(2026, 3, 10)


def test_only_the_blocked_time_still_ahead_counts(ny_rep):
    assert blocked_minutes(ny_rep, TUESDAY) == 90
    assert blocked_minutes(ny_rep, TUESDAY, since=NY_8AM) == 90
    assert blocked_minutes(ny_rep, TUESDAY, since=NY_8AM + timedelta(hours=2)) == 30   # 10:00 NY
    assert blocked_minutes(ny_rep, TUESDAY, since=NY_8AM + timedelta(hours=7, minutes=35)) == 0  # 15:35
    assert capacity_for(ny_rep, TUESDAY, NY_8AM) == 18
    assert capacity_for(ny_rep, TUESDAY, NY_8AM + timedelta(hours=2)) == 6
    assert capacity_for(ny_rep, TUESDAY, NY_8AM + timedelta(hours=7, minutes=35)) == 0


def test_adding_and_deleting_a_block_resizes_the_built_queue(ny_rep, callee, clock):
    clock.freeze(NY_8AM)
    for n in range(40):
        callee(first_name=f"Caller{n}")
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    assert len(queue_entries(ny_rep.id, TUESDAY)) == 18

    block = create_block(ny_rep, {"kind": "one_off", "on_date": TUESDAY, "start_time": time(13),
                                  "end_time": time(14, 30)}, NY_8AM)
    assert resize_after_change(ny_rep, NY_8AM) is True
    db.session.commit()
    assert len(queue_entries(ny_rep.id, TUESDAY)) == 36

    delete_block(ny_rep, block.id)
    resize_after_change(ny_rep, NY_8AM)
    db.session.commit()
    assert len(queue_entries(ny_rep.id, TUESDAY)) == 18


def test_the_blocks_page_resizes_the_queue_at_once(ny_rep, callee, client, login, clock):
    for n in range(40):
        callee(first_name=f"Caller{n}")
    clock.freeze(NY_8AM)
    build_queue(ny_rep, NY_8AM)
    db.session.commit()
    login(client, ny_rep)
    token = csrf_from(client.get("/calls/blocks").get_data(as_text=True))
    response = client.post("/calls/blocks", data={"csrf_token": token, "kind": "one_off", "on_date": "2026-03-10",
                                                  "start_time": "13:00", "end_time": "14:30", "title": "Afternoon"})
    assert response.status_code == 302
    assert db.session.query(CallQueueEntry).filter_by(user_id=ny_rep.id, status="queued").count() == 36
    html = client.get("/calls").get_data(as_text=True)
    assert "36 calls left at 12 an hour" in html
