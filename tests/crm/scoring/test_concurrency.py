"""Concurrent events for one contact serialise on the score row (SELECT ... FOR UPDATE):
nothing is lost, and the stored value equals the recomputation. PostgreSQL only: SQLite
serialises every writer anyway."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from crm.extensions import db
from crm.scoring.models import ContactScore, ScoreEvent
from crm.scoring.scores import recompute_all, record_event
from tests.conftest import NOW

THREADS = 8
EVENTS_EACH = 5


def test_parallel_events_for_one_contact_are_all_counted(app, make_contact):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    contact_id = make_contact().id  # threads must not touch the main session's objects
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for i in range(EVENTS_EACH):
                    # out of order on purpose: some older than what is stored
                    at = NOW - timedelta(hours=(n * 7 + i * 13) % 50)
                    record_event(contact_id, "email_clicked", at)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    assert db.session.query(ScoreEvent).count() == THREADS * EVENTS_EACH
    incremental = db.session.get(ContactScore, contact_id).engagement
    recompute_all(NOW)
    db.session.commit()
    db.session.expire_all()
    assert incremental == pytest.approx(db.session.get(ContactScore, contact_id).engagement, rel=1e-9)


def test_first_events_in_parallel_create_one_row(app, make_contact):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    contact_id = make_contact().id
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                barrier.wait()
                record_event(contact_id, "form_submitted", NOW)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    db.session.expire_all()
    assert db.session.get(ContactScore, contact_id).engagement == pytest.approx(20.0 * THREADS)
