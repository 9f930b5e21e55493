"""Two tabs or two reviewers at once (real concurrent requests, PostgreSQL): sharing, scoring and
naming create their row once and nobody gets a 500."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.reviews import services
from crm.reviews.models import CallReview, Rating, Scorecard, Tracker

CROWD = 6


def post_all(requests: list[tuple[str, dict, dict]]) -> list[int]:
    """POST every (url, headers, body) at once, each from its own thread; the statuses in order."""
    barrier = threading.Barrier(len(requests))
    statuses = [0] * len(requests)

    def send(i: int) -> None:
        url, headers, body = requests[i]
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                statuses[i] = response.status
        except urllib.error.HTTPError as exc:
            statuses[i] = exc.code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.fixture(autouse=True)
def postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL (SQLite: one process, whole-database writes)")


def count(query) -> int:
    db.session.expire_all()
    return db.session.scalar(query) or 0


def test_concurrent_shares_and_scorecards_make_one_row_each(server, api_token, mallory, alice, make_recording, now):
    recording = make_recording(alice)
    rubric = services.create_rubric(mallory, {"name": "Discovery", "criteria": [{"name": "A"}, {"name": "B"}]}, now=now)
    db.session.commit()
    token = api_token(mallory)
    base = f"{server}/api/v1/recordings/{recording.id}"
    shares = post_all([(f"{base}/share", token, {"feedback": f"take {i}"}) for i in range(CROWD)])
    assert shares == [200] * CROWD
    assert count(select(func.count(CallReview.id))) == 1
    cards = post_all([(f"{base}/scorecards", token, {"rubric_id": rubric.id, "ratings": [
        {"criterion_id": c.id, "rating": 1 + (i % 5)} for c in rubric.criteria]}) for i in range(CROWD)])
    assert cards == [201] * CROWD
    assert count(select(func.count(Scorecard.id))) == 1
    assert count(select(func.count(Rating.id))) == 2


def test_concurrent_trackers_with_one_name_one_wins(server, api_token, mallory):
    token = api_token(mallory)
    statuses = post_all([(f"{server}/api/v1/trackers", token, {"name": "Price", "phrases": [f"precio{i}"]})
                         for i in range(CROWD)])
    assert sorted(statuses) == [201] + [422] * (CROWD - 1)
    assert count(select(func.count(Tracker.id))) == 1
