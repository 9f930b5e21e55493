"""An upload import whose worker process is killed resumes promptly, once, with nothing
imported twice (issue #18): the claim carries a heartbeat, a stale claim is taken over with
FOR UPDATE SKIP LOCKED (PostgreSQL), and a worker that lost its claim cannot commit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from crm.contacts.models import Contact
from crm.extensions import db
from crm.imports import services
from crm.imports.jobs import claim_next_job, run_import_job, run_queued_imports, stale_after
from crm.imports.mapping import default_mapping
from crm.imports.models import ImportJob, ImportRejection
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parents[3]
ROWS = 1200
BAD_LINES = {3, 700, 1150}  # rows with an invalid email: rejected once each, never twice
BATCH = 50

CHILD = """
import sys, time
from datetime import datetime
from config import TestConfig
from crm.app import create_app
url, upload_dir, now = sys.argv[1:4]
config = TestConfig()
config.SQLALCHEMY_DATABASE_URI = url
config.IMPORT_UPLOAD_DIR = upload_dir
config.IMPORT_BATCH_SIZE = %d
app = create_app(config)
from crm.imports import runner
from crm.imports.jobs import run_queued_imports
real_flush = runner._flush
def slow_flush(*args, **kwargs):  # a slow worker, so that it dies part-way
    result = real_flush(*args, **kwargs)
    time.sleep(0.2)
    return result
runner._flush = slow_flush
with app.app_context():
    run_queued_imports(datetime.fromisoformat(now))
""" % BATCH


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "IMPORT_UPLOAD_DIR", str(folder))
    monkeypatch.setitem(app.config, "IMPORT_BATCH_SIZE", BATCH)
    return folder


def _queue(actor) -> ImportJob:
    lines = ["email,first name"]
    for line in range(2, ROWS + 2):
        lines.append(f"not-an-email-{line},X" if line in BAD_LINES else f"p{line}@acme-widgets.com,P{line}")
    path = services.new_upload_path()
    path.write_text("\n".join(lines) + "\n")
    job = services.queue_import(actor, kind="contacts", filename="big.csv", stored_name=path.name,
                                on_duplicate="skip", encoding="utf-8",
                                mapping=default_mapping("contacts", ["email", "first name"]), now=NOW)
    db.session.commit()
    return job


def _fresh(job_id: int) -> ImportJob:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(ImportJob, job_id)


def test_a_killed_worker_process_is_resumed_within_a_minute_once_and_nothing_twice(app, alice, upload_dir):
    job_id = _queue(alice).id
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, app.config["SQLALCHEMY_DATABASE_URI"], str(upload_dir), NOW.isoformat()],
        # Keep the caller's PYTHONPATH too: under CI's shifted clock it carries the
        # sitecustomize that makes time.sleep work with libfaketime (.ci/shifted-clock).
        cwd=ROOT, env={**os.environ,
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
    )
    try:
        deadline = time.monotonic() + 120
        while _fresh(job_id).rows_seen < 4 * BATCH:
            assert child.poll() is None, "the worker ended before it could be killed"
            assert time.monotonic() < deadline, "the worker never got going"
            time.sleep(0.2)
        os.kill(child.pid, signal.SIGKILL)  # the worker dies mid-import
    finally:
        child.wait(timeout=60)

    job = _fresh(job_id)
    assert job.status == "running" and 0 < job.rows_seen < ROWS
    # What the dead worker committed is exactly what the job counts: no half batch.
    assert db.session.scalar(select(func.count()).select_from(Contact)) == job.created_count
    died_at = job.heartbeat_at

    # Within the stale delay the job is left alone; past it (45 s by default: with the
    # worker's 5-second poll, resumed within a minute of the death) it is claimable again.
    assert stale_after() <= timedelta(seconds=55)
    assert claim_next_job(died_at + stale_after() - timedelta(seconds=5)) is None
    db.session.rollback()

    # Two workers race for it: one resumes it, the other finds nothing.
    resume_at = died_at + stale_after() + timedelta(seconds=1)
    ran: list[int] = []
    barrier = threading.Barrier(2)

    def worker():
        with app.app_context():
            barrier.wait()
            ran.append(run_queued_imports(resume_at))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sorted(ran) == [0, 1]

    job = _fresh(job_id)
    assert (job.status, job.rows_seen, job.created_count, job.rejected_count) == (
        "done", ROWS, ROWS - len(BAD_LINES), len(BAD_LINES))
    assert db.session.scalar(select(func.count()).select_from(Contact)) == ROWS - len(BAD_LINES)
    lines = list(db.session.scalars(select(ImportRejection.line_number).where(ImportRejection.job_id == job_id)))
    assert sorted(lines) == sorted(BAD_LINES)  # each bad row reported once


def test_a_worker_whose_claim_was_taken_over_writes_nothing_more(app, alice, caplog):
    job = _queue(alice)
    claimed = claim_next_job(NOW)
    db.session.commit()
    first_token = claimed.claim_token
    # The first worker stalls; past the stale delay another takes the job over.
    taken = claim_next_job(NOW + stale_after() + timedelta(seconds=1))
    db.session.commit()
    assert taken.id == job.id and taken.claim_token != first_token
    stale = _fresh(job.id)
    set_committed_value(stale, "claim_token", first_token)  # the first worker's old view of the job
    assert run_import_job(stale, NOW) == "lost"
    assert "taken over by another worker" in caplog.text  # refused at its first batch's commit
    job = _fresh(job.id)
    assert (job.status, job.rows_seen) == ("running", 0)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_the_heartbeat_keeps_a_long_batch_alive(app, alice, monkeypatch):
    """A batch that takes longer than the stale delay does not get its job taken over."""
    from crm.imports import runner
    from crm.imports.jobs import Heartbeat

    monkeypatch.setitem(app.config, "IMPORT_STALE_MINUTES", 0.02)  # 1.2 s; a beat every 0.5 s
    job = _queue(alice)
    claim_next_job(NOW)
    db.session.commit()
    beats: list = []
    real_beat = Heartbeat.beat

    def counting_beat(self):
        beats.append(1)
        return real_beat(self)

    monkeypatch.setattr(Heartbeat, "beat", counting_beat)
    real_flush = runner._flush
    calls = []

    def slow_first_flush(*args, **kwargs):
        if not calls:
            calls.append(1)
            time.sleep(2.0)
        return real_flush(*args, **kwargs)

    monkeypatch.setattr(runner, "_flush", slow_first_flush)
    assert run_import_job(_fresh(job.id), NOW) == "done"
    assert len(beats) >= 2
    assert _fresh(job.id).created_count == ROWS - len(BAD_LINES)
