from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.auth.models import UserSession
from crm.auth.services import purge_expired_sessions, start_session
from crm.contacts.models import Company
from crm.extensions import db
from crm.features import FEATURES, load
from crm.scheduler import Job, build_scheduler, job_table, run_job
from tests.conftest import NOW


def test_every_job_id_is_unique_and_scheduled(app):
    ids = [job.id for job in job_table()]  # every feature's, core ones included
    assert len(ids) == len(set(ids))
    scheduler = build_scheduler(app, blocking=False)
    assert {j.id for j in scheduler.get_jobs()} == set(ids)


def test_run_job_commits_what_the_job_did(app):
    def add_company(now):
        db.session.add(Company(name="From job", created_at=now, updated_at=now, custom={}))

    run_job(app, Job("t", add_company, None))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Company)) == 1


def test_a_failing_job_rolls_back_and_does_not_raise(app):
    def half_then_fail(now):
        db.session.add(Company(name="Half", created_at=now, updated_at=now, custom={}))
        db.session.flush()
        raise RuntimeError("boom")

    run_job(app, Job("t", half_then_fail, None))
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def test_purge_drops_expired_and_long_revoked_sessions_only(alice):
    start_session(alice, NOW - timedelta(days=30), timedelta(hours=1), "")  # expired
    live = start_session(alice, NOW, timedelta(hours=12), "")
    db.session.commit()
    assert purge_expired_sessions(NOW) == 1
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1
    assert live


def test_feature_jobs_are_scheduled_by_the_worker(app):
    feature_ids = {job.id for entry in FEATURES if entry.jobs for job in load(entry.jobs)}
    assert {"purge-expired-sessions", "run-queued-imports", "run-background-jobs"} <= feature_ids
    scheduled = {j.id for j in build_scheduler(app, blocking=False).get_jobs()}
    assert feature_ids <= scheduled


def test_a_job_id_declared_twice_stops_the_worker_from_starting(monkeypatch):
    import crm.scheduler

    twice = [Job("same", lambda now: None, None), Job("same", lambda now: None, None)]
    monkeypatch.setattr(crm.scheduler, "load_all", lambda kind: [twice])
    with pytest.raises(RuntimeError, match="same"):
        job_table()


def test_the_jobs_command_lists_the_job_table(app):
    result = app.test_cli_runner().invoke(args=["crm", "jobs"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.splitlines()]
    assert listed == [job.id for job in job_table()]
    assert {"planning-month-end-snapshots", "purge-expired-sessions"} <= set(listed)
