from datetime import timedelta

from sqlalchemy import func, select

from crm.auth.models import UserSession
from crm.auth.services import purge_expired_sessions, start_session
from crm.contacts.models import Company
from crm.extensions import db
from crm.scheduler import Job, all_jobs, build_scheduler, run_job
from tests.conftest import NOW


def test_every_job_id_is_unique_and_scheduled(app):
    ids = [job.id for job in all_jobs()]  # the core's and every feature's
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
    from crm.features import feature_modules

    feature_ids = {job.id for module in feature_modules("jobs") for job in module.JOBS}
    assert feature_ids, "features declare their jobs in crm/<feature>/jobs.py"
    scheduled = {j.id for j in build_scheduler(app, blocking=False).get_jobs()}
    assert feature_ids <= scheduled
