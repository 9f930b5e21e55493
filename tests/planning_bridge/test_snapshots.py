"""Snapshots freeze the demand input with its parameters; the month-end job is safe to run
twice."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from crm.errors import NotFound
from crm.extensions import db
from crm.scheduler import job_table
from planning_bridge.jobs import MONTH_END_SNAPSHOTS, month_end_snapshots
from planning_bridge.models import Snapshot
from planning_bridge.services import demand_input, get_snapshot, list_snapshots, snapshot_rows, take_snapshot
from tests.conftest import NOW


@pytest.fixture
def pipeline(deal_at):
    deal_at(NOW, 2, date(2026, 6, 10), [("PUMP", 10, 100)])
    deal_at(NOW, 3, date(2026, 7, 1), [("VALVE", 8, 50)])


def test_a_snapshot_freezes_the_rows_and_what_made_them(pipeline, pat):
    snapshot_id = take_snapshot(actor_id=pat.id, now=NOW, start="2026-03", end="2026-08", probabilities="calibrated")
    db.session.commit()
    live = demand_input(start="2026-03", end="2026-08", probabilities="calibrated", today=NOW.date())
    frozen = snapshot_rows(snapshot_id)
    assert [r.__class__(**{**r.__dict__, "snapshot_id": None}) for r in frozen] == list(live)
    assert {r.snapshot_id for r in frozen} == {snapshot_id}
    info = get_snapshot(snapshot_id)
    assert (info.taken_by, info.as_of, info.probabilities, info.probabilities_used) == (
        "Pat Planner", NOW.date(), "calibrated", "stage")
    assert "stage" in info.model_version and info.row_count == 12 and not info.scheduled
    parameters = db.session.get(Snapshot, snapshot_id).parameters
    assert parameters["combine_rules"] == {"PUMP": "baseline_plus_pipeline", "VALVE": "baseline_plus_pipeline"}
    assert parameters["lead_time_days"] == {"PUMP": 30, "VALVE": 14}


def test_later_changes_do_not_touch_a_snapshot(pipeline, deal_at):
    snapshot_id = take_snapshot(actor_id=None, now=NOW, start="2026-07", end="2026-07", probabilities="stage")
    db.session.commit()
    deal_at(NOW, 3, date(2026, 6, 10), [("PUMP", 100, 1)])
    assert snapshot_rows(snapshot_id)[0].weighted_units == 5


def test_the_month_end_job_takes_every_source_once(pipeline):
    first_of_april = datetime(2026, 4, 1, 2, 30, tzinfo=timezone.utc)
    taken = month_end_snapshots(first_of_april)
    db.session.commit()
    assert len(taken) == 3
    assert month_end_snapshots(first_of_april) == []
    snapshots = list_snapshots()
    assert {(s.probabilities, s.as_of, s.start, s.end, s.scheduled) for s in snapshots} == {
        ("chosen", date(2026, 3, 31), "2026-04", "2027-09", True),
        ("stage", date(2026, 3, 31), "2026-04", "2027-09", True),
        ("calibrated", date(2026, 3, 31), "2026-04", "2027-09", True),
    }


def test_unknown_snapshots_are_not_found(families):
    for bad in (12345, "abc", 2**40):
        with pytest.raises(NotFound):
            snapshot_rows(bad)


def test_the_month_end_job_is_in_the_worker_table(app):
    [job] = [job for job in job_table() if job.id == MONTH_END_SNAPSHOTS]
    assert str(job.trigger.fields[2]) == "1" and str(job.trigger.fields[5]) == "2"  # day 1, 02:30
