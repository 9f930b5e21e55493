"""Calls fixtures: a New York rep (alice) with a Monday-Friday 09:00-10:30 block, contacts
in chosen zones, and stand-ins for the providers (tracking, sequences) a test controls."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from crm.calls.blocks import create_block
from crm.extensions import db

# Tuesday 10 March 2026, 08:00 in New York (EDT since 8 March): before the rep's block.
NY_8AM = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def ny_rep(alice):
    alice.time_zone = "America/New_York"
    db.session.commit()
    create_block(alice, {"kind": "recurring", "weekdays": [0, 1, 2, 3, 4], "start_time": time(9),
                         "end_time": time(10, 30)}, NY_8AM)
    db.session.commit()
    return alice


@pytest.fixture
def callee(make_contact, ny_rep):
    """A contact of the rep's with a phone, in ``zone`` (default New York)."""
    def make(zone="America/New_York", **overrides):
        data = {"owner_id": ny_rep.id, "phone": "+1 212 555 0100", "time_zone": zone, **overrides}
        return make_contact(**data)

    return make


@pytest.fixture
def live_intent(monkeypatch):
    """Control what ``recent_human_intent`` returns (the tracking provider)."""
    from crm.calls import queue
    from crm.tracking.services import Intent

    intents: list = []

    def fake(owner_id, since):
        return [i for i in intents if i.occurred_at >= since]

    monkeypatch.setattr(queue, "recent_human_intent", fake)

    def add(contact_id, occurred_at, label="opened 'Pricing follow-up'", kind="email_opened"):
        intents.append(Intent(contact_id, kind, occurred_at, label))

    return add


@pytest.fixture
def call_tasks(monkeypatch):
    """Control ``due_call_tasks`` / ``complete_call_task`` (the sequences provider)."""
    from crm.calls import outcomes, queue
    from crm.sequences.services import DueCallTask

    state = {"tasks": [], "completed": []}

    def due(user_id, until):
        return [t for t in state["tasks"] if t.due_at <= until and t.task_id not in state["completed"]]

    def complete(task_id, actor, now, outcome):
        if task_id in state["completed"]:
            return False
        state["completed"].append(task_id)
        return True

    monkeypatch.setattr(queue, "due_call_tasks", due)
    monkeypatch.setattr(outcomes, "due_call_tasks", due)
    monkeypatch.setattr(outcomes, "complete_call_task", complete)

    def add(task_id, contact_id, due_at, sequence="Q4 outbound", step=3):
        state["tasks"].append(DueCallTask(task_id, contact_id, 1, sequence, step, due_at))

    add.state = state
    return add


__all__ = ["NY_8AM", "timedelta"]


@pytest.fixture
def api(client, api_token):
    from tests.crm.api.conftest import ApiClient

    return lambda user: ApiClient(client, api_token(user))
