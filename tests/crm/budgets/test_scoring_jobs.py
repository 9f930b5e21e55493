"""The scoring admin's "recompute all scores" and "train the model" buttons queue worker jobs
(issue #19: both read every contact and event): the click answers at once with the job's
status page; one job of each kind at a time; the worker runs it and the page shows the outcome,
or why it failed."""
from __future__ import annotations

from sqlalchemy import func, select

from crm.extensions import db
from crm.jobs import runner
from crm.jobs.models import BackgroundJob
from crm.scoring import background
from crm.scoring.models import ContactScore
from tests.conftest import NOW, csrf_from


def _click(client, action: str):
    token = csrf_from(client.get("/scoring/admin").get_data(as_text=True))
    return client.post(f"/scoring/admin/{action}", data={"csrf_token": token})


def test_recompute_is_queued_once_and_the_worker_runs_it(client, login, admin, make_contact):
    for _ in range(3):
        make_contact()
    login(client, admin)
    response = _click(client, "recompute")
    assert response.status_code == 303
    job = db.session.scalar(select(BackgroundJob))
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert (job.kind, job.status, job.user_id) == (background.RECOMPUTE, "queued", admin.id)
    assert db.session.scalar(select(func.count()).select_from(ContactScore)) == 0  # nothing done in the request
    again = _click(client, "recompute")  # a second click follows the same job
    assert again.headers["Location"] == response.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(BackgroundJob)) == 1

    assert runner.run_queued_jobs(NOW) == 1
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-job-status="done"' in page and "Recomputed 3 contacts from 0 events." in page
    assert db.session.scalar(select(func.count()).select_from(ContactScore)) == 3


def test_training_without_enough_history_fails_with_the_reason_on_the_job_page(client, login, admin):
    login(client, admin)
    response = _click(client, "train")
    assert response.status_code == 303
    runner.run_queued_jobs(NOW)
    job = db.session.scalar(select(BackgroundJob))
    assert (job.kind, job.status) == (background.TRAIN, "failed")
    assert "not enough history" in job.error
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-job-status="failed"' in page and "not enough history" in page


def test_only_admins_queue_scoring_jobs(client, login, mallory):
    login(client, mallory)
    token = csrf_from(client.get("/sequences/enroll-bulk").get_data(as_text=True))
    for action in ("recompute", "train"):
        assert client.post(f"/scoring/admin/{action}", data={"csrf_token": token}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(BackgroundJob)) == 0
