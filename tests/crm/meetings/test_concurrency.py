"""Twenty parallel booking requests against a live server (threads, one database connection
each): exactly one wins a slot, the rest get 409 with fresh slots. The daily maximum and
buffers, which no constraint can express, hold under the same race thanks to the host lock.
Runs on SQLite (BEGIN IMMEDIATE) and on PostgreSQL (exclusion constraint + row lock)."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

from sqlalchemy import func, select

from crm.extensions import db
from crm.meetings.models import Meeting
from tests.crm.meetings.helpers import berlin_at, future_weekday

PARALLEL = 20




def race(url: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, dict]] = [None] * len(bodies)  # type: ignore[list-item]

    def attempt(i: int) -> None:
        request = urllib.request.Request(url, data=json.dumps(bodies[i]).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                results[i] = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            results[i] = (exc.code, json.loads(exc.read() or b"{}"))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def guest(i: int, start) -> dict:
    return {"start": start.isoformat(), "name": f"Guest {i}", "email": f"guest{i}@racer{i}.com", "tz": "Europe/Berlin"}


def test_twenty_parallel_requests_for_one_slot_book_it_once(server, rita, make_type):
    meeting_type = make_type(rita)
    start = berlin_at(future_weekday(1), 10)
    results = race(f"{server}/api/v1/booking/{meeting_type.slug}", [guest(i, start) for i in range(PARALLEL)])
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: PARALLEL - 1}, results
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "conflict" and start.isoformat() not in body["slots"]
            assert body["slots"]  # fresh slots to pick from
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Meeting.id))) == 1


def test_daily_maximum_and_buffers_hold_under_a_race(server, rita, make_type):
    # Twenty different slots of one day, daily maximum 3, 60-minute buffers after: at most
    # three bookings, and none closer than the buffers allow.
    meeting_type = make_type(rita, daily_max=3, buffer_after_minutes=60, increment_minutes=30)
    day = future_weekday(2)
    starts = [berlin_at(day, 9 + i // 2, 30 * (i % 2)) for i in range(16)] + [berlin_at(day, 9)] * 4
    results = race(f"{server}/api/v1/booking/{meeting_type.slug}", [guest(i, s) for i, s in enumerate(starts)])
    statuses = Counter(status for status, _ in results)
    assert statuses[201] == 3 and statuses[201] + statuses[409] == PARALLEL, results
    db.session.expire_all()
    booked = sorted(db.session.scalars(select(Meeting.start_at)))
    assert len(booked) == 3
    for earlier, later in zip(booked, booked[1:]):
        assert (later - earlier).total_seconds() >= (30 + 60) * 60  # meeting + buffer after
