"""The calls demo: blocks for each rep, scripts, a week of calls, today's queue."""
from __future__ import annotations

from datetime import date, datetime, timezone

from crm.calls import demo
from crm.calls.models import CallQueueEntry, CallScript, TimeBlock
from crm.contacts.models import Activity
from crm.extensions import db


def test_demo_seed(admin, mallory, alice, bob, charlie, make_contact):
    alice.time_zone, bob.time_zone, charlie.time_zone = "Europe/Berlin", "America/New_York", "America/Los_Angeles"
    for rep in (alice, bob, charlie):
        for n in range(5):
            make_contact(owner_id=rep.id, phone=f"+1 555 010{n}", time_zone=rep.time_zone)
    today = date(2026, 3, 9)  # a Monday
    counts = demo.seed({"admin": admin, "manager": mallory, "europe": alice, "east": bob, "west": charlie},
                       today, datetime(2026, 3, 9, 12, tzinfo=timezone.utc))
    db.session.commit()
    assert counts["call_blocks"] == 3 and counts["call_scripts"] == 4 and counts["calls_logged"] > 30
    assert db.session.query(TimeBlock).count() == 3 and db.session.query(CallScript).count() == 4
    assert db.session.query(Activity).filter_by(kind="call").count() == counts["calls_logged"]
    assert db.session.query(CallQueueEntry).count() > 0
