"""Bulk enrollment of many contacts runs in the worker (issue #19): the request queues a job
and answers at once (202 with the job's URL in the API, the status page on pages); the worker
claims it, enrolls in chunks committed with the job's progress, survives a crash mid-way
without enrolling anyone twice, and only the rep who asked, their manager or an admin sees
the job. Small batches stay synchronous.

Thresholds are lowered for speed (more than 5 contacts go to the worker, chunks of 3), except
where the default (100) is the point."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from crm.extensions import db
from crm.jobs import runner
from crm.jobs.models import BackgroundJob
from crm.sequences import bulk, enrollments, services
from crm.sequences.models import Enrollment
from tests.conftest import NOW, csrf_from

API = "/api/v1"


@pytest.fixture
def small_thresholds(app, monkeypatch):
    monkeypatch.setitem(app.config, "SEQUENCE_BULK_SYNC_MAX", 5)
    monkeypatch.setitem(app.config, "SEQUENCE_BULK_CHUNK", 3)


@pytest.fixture
def contacts(make_contact, rep):
    """Eleven contacts of the rep's; the fourth is do-not-contact."""
    made = [make_contact(owner_id=rep.id, actor=rep, lifecycle_stage="mql", first_name=f"Bulk{n}",
                         do_not_contact=(n == 3)) for n in range(11)]
    return made


def _enrollments_per_contact() -> dict[int, int]:
    return dict(db.session.execute(select(Enrollment.contact_id, func.count()).group_by(Enrollment.contact_id)).all())


def _job() -> BackgroundJob:
    db.session.expire_all()
    return db.session.scalar(select(BackgroundJob))


def test_a_small_batch_is_still_enrolled_in_the_request(api_token, client, rep, sequence, contacts, small_thresholds):
    response = client.post(f"{API}/enrollments/bulk", headers=api_token(rep),
                           json={"sequence_id": sequence.id, "contact_ids": [c.id for c in contacts[:5]]})
    assert response.status_code == 200
    assert len(response.get_json()["enrolled"]) == 4 and len(response.get_json()["refused"]) == 1
    assert db.session.scalar(select(func.count()).select_from(BackgroundJob)) == 0


def test_more_than_a_hundred_go_to_the_worker_by_default(api_token, client, rep, sequence):
    headers = api_token(rep)
    hundred = client.post(f"{API}/enrollments/bulk", headers=headers,
                          json={"sequence_id": sequence.id, "contact_ids": list(range(1, 101))})
    assert hundred.status_code == 200  # none of them exists: 100 refusals, done at once
    assert {r["reason"] for r in hundred.get_json()["refused"]} == {"not_found"}
    more = client.post(f"{API}/enrollments/bulk", headers=headers,
                       json={"sequence_id": sequence.id, "contact_ids": list(range(1, 102))})
    assert more.status_code == 202 and more.get_json()["total"] == 101


def test_the_api_queues_a_large_batch_and_the_worker_enrolls_it(api_token, client, rep, sequence, contacts,
                                                                 small_thresholds):
    headers = api_token(rep)
    response = client.post(f"{API}/enrollments/bulk", headers=headers,
                           json={"sequence_id": sequence.id, "contact_ids": [c.id for c in contacts]})
    assert response.status_code == 202
    body = response.get_json()
    assert response.headers["Location"] == body["url"] == f"{API}/enrollments/bulk/jobs/{body['id']}"
    assert (body["status"], body["total"], body["done"], body["result"]) == ("queued", 11, 0, None)
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0  # nothing done in the request
    job = _job()
    assert (job.user_id, job.kind, job.params, job.created_at) == (
        rep.id, bulk.KIND, {"sequence_id": sequence.id, "contact_ids": [c.id for c in contacts]}, NOW)

    assert runner.run_queued_jobs(NOW) == 1
    done = client.get(body["url"], headers=headers).get_json()
    assert (done["status"], done["done"], done["total"], done["error_count"]) == ("done", 11, 11, 1)
    assert len(done["result"]["enrolled"]) == 10
    assert [(r["contact_id"], r["reason"]) for r in done["result"]["refused"]] == [(contacts[3].id, "do_not_contact")]
    assert _enrollments_per_contact() == {c.id: 1 for c in contacts if c is not contacts[3]}


def test_a_filter_is_resolved_by_the_worker(api_token, client, rep, sequence, contacts, small_thresholds):
    response = client.post(f"{API}/enrollments/bulk", headers=api_token(rep),
                           json={"sequence_id": sequence.id, "filter": {"lifecycle_stage": "mql", "owner_id": rep.id}})
    assert response.status_code == 202
    assert _job().params == {"sequence_id": sequence.id, "filter": {
        "q": "", "owner_id": rep.id, "stage": "mql", "company_id": None}}
    runner.run_queued_jobs(NOW)
    job = _job()
    assert (job.status, job.done, job.total, job.error_count) == ("done", 11, 11, 1)
    assert sorted(job.params["contact_ids"]) == sorted(c.id for c in contacts)  # kept for a resumed run


def test_the_page_redirects_to_a_status_page_that_shows_progress_then_the_result(client, login, rep, sequence,
                                                                                  contacts, small_thresholds):
    login(client, rep)
    url = "/sequences/enroll-bulk?owner=me&stage=mql"
    token = csrf_from(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "sequence_id": str(sequence.id), "q": "",
                                      "owner": "me", "stage": "mql"})
    assert response.status_code == 303
    job = _job()
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    waiting = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Waiting for the worker" in waiting and 'http-equiv="refresh"' in waiting
    assert 'data-progress="0/11"' in waiting

    runner.run_queued_jobs(NOW)
    finished = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in finished and 'data-job-status="done"' in finished
    assert "10 enrolled, 1 refused." in finished and "marked do-not-contact" in finished
    assert f'href="/jobs/{job.id}"' in client.get("/sequences/enroll-bulk").get_data(as_text=True)  # recent jobs


def test_progress_increases_chunk_by_chunk(api_token, client, rep, sequence, contacts, small_thresholds,
                                          monkeypatch):
    client.post(f"{API}/enrollments/bulk", headers=api_token(rep),
                json={"sequence_id": sequence.id, "contact_ids": [c.id for c in contacts]})
    seen = []
    enroll = enrollments.enroll_contacts

    def watching(actor, sequence_id, chunk, now):
        # What another request reads meanwhile: the committed row, from its own connection.
        with db.engine.connect() as other:
            seen.append(other.execute(text("SELECT done, total FROM background_jobs")).one())
        return enroll(actor, sequence_id, chunk, now)

    monkeypatch.setattr(enrollments, "enroll_contacts", watching)
    runner.run_queued_jobs(NOW)
    assert [tuple(row) for row in seen] == [(0, 11), (3, 11), (6, 11), (9, 11)]
    assert (_job().done, _job().status) == (11, "done")


class WorkerKilled(BaseException):
    """Stands for the worker process dying (SIGKILL, OOM): nothing after it runs."""


def test_a_second_claim_resumes_after_a_crash_without_enrolling_anyone_twice(
        api_token, client, rep, sequence, contacts, small_thresholds, monkeypatch, clock):
    client.post(f"{API}/enrollments/bulk", headers=api_token(rep),
                json={"sequence_id": sequence.id, "contact_ids": [c.id for c in contacts]})
    calls = []
    enroll = enrollments.enroll_contacts

    def dies_in_the_third_chunk(actor, sequence_id, chunk, now):
        calls.append(list(chunk))
        report = enroll(actor, sequence_id, chunk, now)
        if len(calls) == 3:
            raise WorkerKilled  # the third chunk's enrollments are flushed, never committed
        return report

    monkeypatch.setattr(enrollments, "enroll_contacts", dies_in_the_third_chunk)
    with pytest.raises(WorkerKilled):
        runner.run_queued_jobs(NOW)
    db.session.rollback()  # what the dead process's connection amounts to
    job = _job()
    assert (job.status, job.done, job.attempts) == ("running", 6, 1)
    assert set(_enrollments_per_contact()) == {c.id for c in contacts[:6] if c is not contacts[3]}

    monkeypatch.setattr(enrollments, "enroll_contacts", enroll)
    assert runner.run_queued_jobs(NOW + timedelta(minutes=1)) == 0  # heartbeat fresh: maybe still working
    clock.advance(timedelta(minutes=runner.DEFAULT_STALE_MINUTES + 1))
    assert runner.run_queued_jobs(NOW + timedelta(minutes=runner.DEFAULT_STALE_MINUTES + 1)) == 1
    job = _job()
    assert (job.status, job.done, job.total, job.error_count, job.attempts) == ("done", 11, 11, 1, 2)
    assert _enrollments_per_contact() == {c.id: 1 for c in contacts if c is not contacts[3]}
    assert sorted(job.result["enrolled"]) == sorted(db.session.scalars(select(Enrollment.id)))


def test_a_worker_taken_for_dead_cannot_write_after_the_second_claim(rep, sequence, contacts, small_thresholds):
    job = bulk.enroll_in_bulk(rep, sequence.id, NOW, contact_ids=[c.id for c in contacts]).job
    db.session.commit()
    first = runner.claim_next_job(NOW)
    db.session.commit()
    zombie = runner.JobRun(first, lambda: NOW)
    later = NOW + timedelta(minutes=runner.DEFAULT_STALE_MINUTES + 1)
    assert runner.claim_next_job(later).id == job.id  # the first worker looks dead: claimed again
    db.session.commit()
    with pytest.raises(runner.ClaimLost):
        zombie.begin_chunk()  # it wakes up: its next chunk does not start
    with pytest.raises(runner.ClaimLost):
        zombie.checkpoint(done=3)
    assert (_job().done, _job().attempts, _job().status) == (0, 2, "running")


@pytest.mark.skipif(__import__("os").environ.get("TEST_DATABASE_URL") is None,
                    reason="two workers' transactions side by side need PostgreSQL's row locks")
def test_a_chunk_in_progress_is_never_claimed_again(app, rep, sequence, contacts, small_thresholds):
    from crm.auth.models import User

    job_id = bulk.enroll_in_bulk(rep, sequence.id, NOW, contact_ids=[c.id for c in contacts]).job.id
    db.session.commit()
    runner.claim_next_job(NOW)
    db.session.commit()
    much_later = NOW + timedelta(hours=1)  # its heartbeat is long stale by then
    worker = app.app_context()  # the first worker: a session of its own, in the middle of a chunk
    worker.push()
    try:
        working = runner.JobRun(db.session.get(BackgroundJob, job_id), lambda: NOW)
        working.begin_chunk()
        services.enroll_contacts(db.session.get(User, rep.id), sequence.id, [c.id for c in contacts[:3]], NOW)
        other = app.app_context()  # a second worker looks for work meanwhile
        other.push()
        try:
            assert runner.claim_next_job(much_later) is None  # the row is locked: skipped
        finally:
            other.pop()
        working.checkpoint(done=3)
    finally:
        worker.pop()
    job = _job()
    assert (job.done, job.attempts) == (3, 1)
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 3


def test_a_job_fails_with_a_reason_when_its_rep_can_no_longer_enroll(rep, sequence, contacts, small_thresholds):
    job = bulk.enroll_in_bulk(rep, sequence.id, NOW, contact_ids=[c.id for c in contacts]).job
    rep.is_active = False
    db.session.commit()
    runner.run_queued_jobs(NOW)
    job = _job()
    assert (job.status, job.error, job.done) == ("failed", "the user who asked can no longer enroll contacts", 0)
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_the_request_checks_what_it_can_before_queueing(api_token, client, rep, small_thresholds):
    from crm.sequences import library

    empty = library.create_sequence(rep, {"name": "No steps"}, NOW)
    db.session.commit()
    headers = api_token(rep)
    ids = list(range(1, 20))
    assert client.post(f"{API}/enrollments/bulk", headers=headers,
                       json={"sequence_id": 999999, "contact_ids": ids}).status_code == 404
    assert client.post(f"{API}/enrollments/bulk", headers=headers,
                       json={"sequence_id": empty.id, "contact_ids": ids}).status_code == 422
    assert db.session.scalar(select(func.count()).select_from(BackgroundJob)) == 0


def test_only_the_rep_their_manager_or_an_admin_sees_the_job(api_token, client, login, rep, mallory, bob, charlie,
                                                            admin, sequence, contacts, small_thresholds):
    body = client.post(f"{API}/enrollments/bulk", headers=api_token(rep),
                       json={"sequence_id": sequence.id, "contact_ids": [c.id for c in contacts]}).get_json()
    for user, status in ((rep, 200), (mallory, 200), (admin, 200), (bob, 404), (charlie, 404)):
        assert client.get(body["url"], headers=api_token(user)).status_code == status, user.name
    for user, status in ((bob, 404), (mallory, 200)):
        with client.session_transaction() as session:
            session.clear()
        login(client, user)
        assert client.get(f"/jobs/{body['id']}").status_code == status, user.name
    assert client.get(f"{API}/enrollments/bulk/jobs/{body['id']}").status_code == 401


@pytest.mark.skipif(__import__("os").environ.get("TEST_DATABASE_URL") is None,
                    reason="SKIP LOCKED is PostgreSQL's (SQLite claims with a conditional UPDATE)")
def test_two_workers_never_claim_the_same_job(rep, sequence, contacts, small_thresholds):
    first = bulk.enroll_in_bulk(rep, sequence.id, NOW, contact_ids=[c.id for c in contacts]).job
    second = bulk.enroll_in_bulk(rep, sequence.id, NOW + timedelta(seconds=1),
                                 contact_ids=[c.id for c in reversed(contacts)]).job
    second.created_at = NOW + timedelta(seconds=1)
    db.session.commit()
    with db.engine.connect() as other_worker:
        with other_worker.begin():
            other_worker.execute(text("SELECT id FROM background_jobs WHERE id = :id FOR UPDATE"), {"id": first.id})
            claimed = runner.claim_next_job(NOW + timedelta(seconds=2))  # skips the locked row
            assert claimed.id == second.id
            db.session.commit()
