"""Two workers running the month-end job at once (or a planner and the job) end with one
cycle: proven on PostgreSQL, where they really run in parallel."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from planning_bridge.models import Snapshot
from planning_bridge.periods import last_day, month_index
from planning_bridge.sop import jobs
from planning_bridge.sop.models import Cycle, CycleStep
from tests.conftest import NOW
from tests.planning_bridge.conftest import at


def test_racing_month_end_jobs_open_one_cycle(app, clock, families, stages):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL (SQLite: one process, one writer)")
    moment = at(last_day(month_index(NOW.date())) + timedelta(days=1), 3)
    clock.freeze(moment)
    start = threading.Barrier(4)
    results, errors = [], []

    def worker():
        with app.app_context():
            try:
                start.wait()
                results.append(jobs.open_month_end_cycle(moment))
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 — reported below, not swallowed
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(results) == 4 and sum(1 for r in results if r) == 1  # one opened it, three found it
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Cycle)) == 1
    assert db.session.scalar(select(func.count()).select_from(CycleStep)) == 5
    assert db.session.scalar(select(func.count()).select_from(Snapshot)) == 1  # the losers wrote nothing
