"""Import jobs are claimed in the database: never twice, and a dead worker's job resumes."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.contacts.models import Contact
from crm.extensions import db
from crm.imports import services
from crm.imports.jobs import claim_next_job, run_import_job, run_queued_imports
from crm.imports.mapping import default_mapping
from crm.imports.models import ImportJob, ImportRejection
from crm.scheduler import job_table, run_job
from tests.conftest import NOW


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def queue(alice):
    def make(text="email\na@acme-widgets.com\n", created_at=NOW):
        path = services.new_upload_path()
        path.write_text(text)
        job = services.queue_import(
            alice, kind="contacts", filename="people.csv", stored_name=path.name, on_duplicate="skip",
            encoding="utf-8", mapping=default_mapping("contacts", text.split("\n")[0].split(",")), now=created_at,
        )
        db.session.commit()
        return job

    return make


def test_two_claims_never_return_the_same_job(queue):
    first, second = queue(created_at=NOW), queue(created_at=NOW + timedelta(seconds=1))
    claimed = [claim_next_job(NOW), claim_next_job(NOW), claim_next_job(NOW)]
    db.session.commit()
    assert [job.id if job else None for job in claimed] == [first.id, second.id, None]
    assert {job.status for job in claimed[:2]} == {"running"}


def test_concurrent_claims_from_two_workers_split_the_jobs(app, queue):
    ids = {queue(created_at=NOW + timedelta(seconds=n)).id for n in range(6)}
    won: list[int] = []
    barrier = threading.Barrier(2)

    def worker():
        with app.app_context():
            barrier.wait()
            while (job := claim_next_job(NOW)) is not None:
                won.append(job.id)
                db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(won) == sorted(ids)  # every job once, none twice


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone_and_a_stale_one_is_reclaimed(app, queue, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_STALE_MINUTES", 10)
    job = queue()
    assert claim_next_job(NOW).id == job.id
    db.session.commit()
    assert claim_next_job(NOW + timedelta(minutes=5)) is None
    reclaimed = claim_next_job(NOW + timedelta(minutes=11))
    assert reclaimed.id == job.id and reclaimed.heartbeat_at == NOW + timedelta(minutes=11)


def test_a_reclaimed_job_resumes_after_its_last_committed_batch(app, queue, monkeypatch):
    rows = "".join(f"p{n}@acme-widgets.com\n" for n in range(6)) + "broken\n" + "p6@acme-widgets.com\n"
    job = queue("email\n" + rows)
    monkeypatch.setitem(app.config, "IMPORT_BATCH_SIZE", 3)

    # A worker claims it, commits the first batch, then dies.
    claim_next_job(NOW)
    db.session.commit()
    from crm.imports import runner
    real_flush, flushes = runner._flush, []

    def die_after_first_batch(*args, **kwargs):
        if flushes:
            raise SystemExit("worker killed")
        flushes.append(1)
        return real_flush(*args, **kwargs)

    monkeypatch.setattr(runner, "_flush", die_after_first_batch)
    with pytest.raises(SystemExit):
        run_import_job(db.session.get(ImportJob, job.id), NOW)
    db.session.rollback()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.rows_seen, job.created_count) == ("running", 3, 3)

    # Later another worker finds the stale job and finishes it, without doing anything twice.
    monkeypatch.setattr(runner, "_flush", real_flush)
    assert run_queued_imports(NOW + timedelta(minutes=30)) == 1
    db.session.refresh(job)
    assert (job.status, job.rows_seen, job.created_count, job.rejected_count) == ("done", 8, 7, 1)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 7
    assert [(r.line_number, r.reason[:6]) for r in db.session.scalars(select(ImportRejection))] == [(8, "email:")]


def test_the_worker_job_runs_every_queued_import_and_deletes_the_files(queue):
    jobs = [queue(), queue("email\nb@acme-widgets.com\n", created_at=NOW + timedelta(seconds=1))]
    assert run_queued_imports(NOW) == 2
    for job in jobs:
        db.session.refresh(job)
        assert job.status == "done" and job.finished_at is not None
        assert not services.stored_file(job.stored_path).exists()
    assert run_queued_imports(NOW) == 0


def test_a_job_whose_uploader_lost_the_right_to_import_fails_clearly(queue, alice):
    job = queue()
    alice.role = "planner"
    db.session.commit()
    run_queued_imports(NOW)
    db.session.refresh(job)
    assert job.status == "failed" and "can no longer import" in job.error
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_the_scheduler_runs_queued_imports(app, queue):
    job = queue()
    run_job(app, next(j for j in job_table() if j.id == "run-queued-imports"))
    db.session.refresh(job)
    assert job.status == "done" and job.created_count == 1
