"""Two saves of one team's allocation at the same moment (two tabs, PostgreSQL): one replaces
the other whole, never a mix of both."""
from __future__ import annotations

import threading

import pytest

from crm.auth.models import User
from crm.errors import Conflict
from crm.extensions import db
from crm.targets.models import TargetAllocation
from crm.targets.services import save_allocation
from tests.conftest import NOW
from tests.crm.targets.conftest import THIS_MONTH, ym


@pytest.mark.skipif("not __import__('os').environ.get('TEST_DATABASE_URL')",
                    reason="real concurrency needs PostgreSQL (SQLite serialises whole-database writes)")
def test_concurrent_allocations_never_mix(app, feedback, alice, bob, mallory, deal_for):
    feedback.publish("PUMP", THIS_MONTH, 100)
    deal_for(alice, 10)
    deal_for(bob, 10)
    ids = {"alice": alice.id, "bob": bob.id}
    manager_id = mallory.id
    barrier = threading.Barrier(2)
    results: list[str] = []

    def tab(units: dict):
        with app.app_context():
            manager = db.session.get(User, manager_id)
            barrier.wait()
            try:
                save_allocation(manager, None, {"family": "PUMP", "period": ym(THIS_MONTH), "units": units}, NOW)
                db.session.commit()
                results.append("saved")
            except Conflict:
                db.session.rollback()
                results.append("conflict")
            finally:
                db.session.remove()

    first = {ids["alice"]: "60"}
    second = {ids["bob"]: "30"}  # different reps: without a lock both inserts would land
    threads = [threading.Thread(target=tab, args=(units,)) for units in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert "saved" in results and len(results) == 2
    db.session.expire_all()
    stored = {row.user_id: row.units for row in db.session.query(TargetAllocation)}
    assert stored in ({ids["alice"]: 60}, {ids["bob"]: 30})
