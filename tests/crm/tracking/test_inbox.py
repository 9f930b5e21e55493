"""The intake queue: endpoints only append; the worker job turns hits into events, once."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.tracking.models import TrackingEvent, TrackingInbox
from tests.conftest import NOW
from tests.crm.tracking.conftest import CHROME, SITE


@pytest.fixture
def queued(app):
    app.config["TRACKING_PROCESS_INLINE"] = False
    yield
    app.config["TRACKING_PROCESS_INLINE"] = True


def count(model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_hits_wait_in_the_inbox_until_the_worker_job_runs(app, client, queued, at, pixel_path, click_paths,
                                                          tracked_site, sent_email):
    from crm.tracking.jobs import JOBS

    at(NOW)
    assert client.get(pixel_path, headers={"User-Agent": CHROME}).status_code == 200
    assert client.get(click_paths[0], headers={"User-Agent": CHROME}).status_code == 302
    client.post("/t/collect", data=json.dumps({"visitor": "q" * 20, "events": [
        {"type": "page_view", "url": SITE + "/pricing"}]}), content_type="text/plain",
        headers={"Origin": SITE, "User-Agent": CHROME})
    assert (count(TrackingInbox), count(TrackingEvent)) == (3, 0)
    [job] = [j for j in JOBS if j.id == "tracking-process-inbox"]
    assert job.func(NOW + timedelta(seconds=2)) == 3
    db.session.commit()
    assert (count(TrackingInbox), count(TrackingEvent)) == (0, 3)
    kinds = db.session.scalars(select(TrackingEvent.kind).order_by(TrackingEvent.id)).all()
    assert kinds == ["email_opened", "email_clicked", "page_viewed"]
    db.session.refresh(sent_email)
    assert sent_email.first_human_open_at == NOW  # the time of the hit, not of processing


def test_unknown_tokens_queue_nothing(client, queued, pixel_path):
    assert client.get("/t/o/AAAAAAAAAAAAAAAAAAAAAA.gif").status_code == 404
    assert client.get("/t/c/AAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert count(TrackingInbox) == 0


def test_concurrent_processors_never_process_a_hit_twice(app, client, queued, at, pixel_path):
    """Four workers drain 200 queued opens at once: 200 events, none twice (PostgreSQL: FOR
    UPDATE SKIP LOCKED; SQLite: the claiming DELETE holds the write lock)."""
    from crm.tracking.inbox import process_all

    for n in range(200):
        at(NOW + timedelta(minutes=n))
        client.get(pixel_path, headers={"User-Agent": CHROME})
    assert count(TrackingInbox) == 200
    barrier = threading.Barrier(4)
    done, errors = [], []

    def work():
        with app.app_context():
            barrier.wait()
            try:
                done.append(process_all())
            except Exception as exc:  # SQLite may refuse a second writer: it retries next tick
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        process_all()  # whatever a refused SQLite writer left
    assert sum(done) <= 200
    assert count(TrackingEvent) == 200 and count(TrackingInbox) == 0
    assert db.session.scalar(select(func.count(func.distinct(TrackingEvent.occurred_at)))) == 200
    if db.engine.dialect.name == "postgresql":
        assert errors == [] and sum(done) == 200


def test_a_poisoned_hit_is_dropped_on_postgresql_without_blocking_the_rest(app, client, queued, at, pixel_path,
                                                                         monkeypatch):
    from crm.tracking import inbox

    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-by-row recovery uses savepoints (PostgreSQL)")
    for n in range(3):
        at(NOW + timedelta(minutes=n))
        client.get(pixel_path, headers={"User-Agent": CHROME})
    real = inbox._process
    poisoned = min(db.session.scalars(select(TrackingInbox.id)).all())

    def flaky(row, links):
        if row.id == poisoned:
            raise RuntimeError("boom")
        return real(row, links)

    monkeypatch.setattr(inbox, "_process", flaky)
    assert inbox.process_all() == 3
    assert (count(TrackingInbox), count(TrackingEvent)) == (0, 2)
