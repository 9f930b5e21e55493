"""The analysis in the worker: claimed once (FOR UPDATE SKIP LOCKED on PostgreSQL), progress
written as the decode goes, results on the API and the page, failures said, a dead worker's
recording claimed again; the CLI runs it once; the job is in the worker's table."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.recordings import analysis, services, worker
from crm.recordings import storage as file_storage
from crm.recordings.models import Recording
from crm.scheduler import job_table
from tests.conftest import NOW, csrf_from
from tests.crm.recordings.conftest import UPLOAD_SECONDS, UPLOAD_TURNS


class Upload:
    mimetype = "audio/wav"

    def __init__(self, data: bytes, filename: str = "call.wav"):
        self.stream, self.filename = io.BytesIO(data), filename


@pytest.fixture
def pending(make_call, storage, call_audio):
    """``pending(rep, n=1)``: n committed pending recordings of the rep's calls, oldest first."""
    def make(rep, n: int = 1, data: bytes | None = None) -> list[int]:
        ids = []
        for number in range(n):
            call = make_call(rep, minutes_ago=60 + number)
            recording = services.upload_recording(rep, call.id, Upload(data or call_audio("wav")),
                                                  now=NOW + timedelta(seconds=number))
            db.session.commit()
            ids.append(recording.id)
        return ids

    return make


def expected_talk_ratio() -> float:
    rep = sum(b - a for side, a, b in UPLOAD_TURNS if side == "rep")
    prospect = sum(b - a for side, a, b in UPLOAD_TURNS if side == "prospect")
    return rep / (rep + prospect)


def test_the_worker_analyses_and_the_api_shows_it(api, alice, pending):
    [recording_id] = pending(alice)
    assert worker.analyse_pending(NOW) == {"ready": 1, "failed": 0}
    body = api(alice).get(f"/recordings/{recording_id}").get_json()
    assert body["status"] == "ready" and body["progress"] == 100 and body["analysed_at"]
    result = body["analysis"]
    assert result["duration_seconds"] == pytest.approx(UPLOAD_SECONDS, abs=0.05)
    assert result["talk_ratio_rep"] == pytest.approx(expected_talk_ratio(), rel=0.02)
    assert result["longest_monologue_rep_seconds"] == pytest.approx(3.5, rel=0.02)
    assert result["longest_monologue_prospect_seconds"] == pytest.approx(4.4, rel=0.02)
    assert result["switches_per_minute"] == pytest.approx(2 / (UPLOAD_SECONDS / 60), rel=0.02)
    assert 0 < result["silence_share"] < 0.3
    assert len(result["waveform"]) == UPLOAD_SECONDS / analysis.FRAME_SECONDS  # one point a frame: a short call
    assert [[round(a, 1), round(b, 1)] for a, b in result["segments"]["prospect"]] == [[4.6, 9.0]]
    assert worker.analyse_pending(NOW) == {"ready": 0, "failed": 0}  # nothing left


def test_progress_written_per_block(alice, pending, monkeypatch):
    [recording_id] = pending(alice)
    monkeypatch.setattr(analysis, "BLOCK_SECONDS", 1)
    monkeypatch.setattr(worker, "PROGRESS_EVERY_SECONDS", 0)
    seen = []
    real = services.record_progress

    def spy(rid, attempt, percent, now):
        seen.append(percent)
        return real(rid, attempt, percent, now)

    monkeypatch.setattr(services, "record_progress", spy)
    worker.analyse_pending(NOW)
    assert len(seen) >= 10 and seen == sorted(seen) and seen[-1] == 99 and seen[0] < 20
    assert db.session.get(Recording, recording_id).progress == 100


def test_the_status_page_shows_progress_then_the_figures(client, login, alice, pending):
    [recording_id] = pending(alice)
    db.session.execute(Recording.__table__.update().values(status="analysing", progress=42, heartbeat_at=NOW))
    db.session.commit()
    login(client, alice)
    page = client.get(f"/recordings/{recording_id}/status").get_data(as_text=True)
    assert 'value="42"' in page and "Analysing" in page and 'http-equiv="refresh"' in page
    db.session.execute(Recording.__table__.update().values(status="pending", progress=0, heartbeat_at=None))
    db.session.commit()
    worker.analyse_pending(NOW)
    page = client.get(f"/recordings/{recording_id}/status").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page and 'id="talk-ratio"' in page
    assert f"{round(expected_talk_ratio() * 100)}%" in page


def test_an_unreadable_file_fails_with_the_reason_and_can_be_retried(client, login, alice, pending, storage):
    [recording_id] = pending(alice)
    recording = db.session.get(Recording, recording_id)
    (storage / recording.storage_key).write_bytes(b"garbage, not audio")
    assert worker.analyse_pending(NOW) == {"ready": 0, "failed": 1}
    db.session.expire_all()
    recording = db.session.get(Recording, recording_id)
    assert recording.status == "failed" and "could not be decoded" in recording.error
    login(client, alice)
    page = client.get(f"/recordings/{recording_id}/status").get_data(as_text=True)
    assert "could not be decoded" in page and "Analyse again" in page
    retried = client.post(f"/recordings/{recording_id}/retry", data={"csrf_token": csrf_from(page)})
    assert retried.status_code == 302
    db.session.expire_all()
    assert db.session.get(Recording, recording_id).status == "pending"


def test_a_missing_file_fails(alice, pending, storage):
    [recording_id] = pending(alice)
    (storage / db.session.get(Recording, recording_id).storage_key).unlink()
    assert worker.analyse_pending(NOW) == {"ready": 0, "failed": 1}
    db.session.expire_all()
    assert db.session.get(Recording, recording_id).error == "the stored file is missing"


def test_a_rename_interrupted_after_the_commit_is_finished_by_the_worker(alice, pending, storage, stored_files):
    [recording_id] = pending(alice)
    key = db.session.get(Recording, recording_id).storage_key
    (storage / key).rename(file_storage.part_path(key))  # as if the process died between commit and rename
    assert stored_files() == [f".{key}.part"]
    assert worker.analyse_pending(NOW) == {"ready": 1, "failed": 0}
    assert stored_files() == [key]


def test_claims_skip_a_live_worker_and_take_over_a_dead_one(alice, pending):
    [recording_id] = pending(alice)
    claimed = services.claim_next_pending(NOW)
    db.session.commit()
    assert claimed.id == recording_id and claimed.attempts == 1 and claimed.status == "analysing"
    assert services.claim_next_pending(NOW + timedelta(minutes=5)) is None
    taken_over = services.claim_next_pending(NOW + services.STALE_AFTER + timedelta(minutes=1))
    db.session.commit()
    assert taken_over.id == recording_id and taken_over.attempts == 2
    # the first worker wakes up: its progress and its result are refused
    assert services.record_progress(recording_id, 1, 50, NOW) is False
    assert worker._finish(recording_id, 1, lambda r: services.fail_analysis(r, "late", NOW), "failed") is None
    db.session.expire_all()
    assert db.session.get(Recording, recording_id).status == "analysing"


def test_gives_up_after_the_attempts(alice, pending):
    [recording_id] = pending(alice)
    db.session.execute(Recording.__table__.update().values(attempts=services.MAX_ATTEMPTS))
    db.session.commit()
    assert worker.analyse_pending(NOW) == {"ready": 0, "failed": 1}
    db.session.expire_all()
    assert "gave up" in db.session.get(Recording, recording_id).error


def test_two_workers_analyse_each_recording_once(app, alice, pending):
    """On PostgreSQL the claim is SELECT ... FOR UPDATE SKIP LOCKED: two workers racing over six
    recordings analyse each exactly once (one attempt each)."""
    ids = pending(alice, n=6)
    done: list[dict] = []
    barrier = threading.Barrier(2)

    def run():
        with app.app_context():
            barrier.wait()
            done.append(worker.analyse_pending(NOW))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(d["ready"] for d in done) == 6 and sum(d["failed"] for d in done) == 0
    db.session.expire_all()
    rows = db.session.scalars(select(Recording).where(Recording.id.in_(ids))).all()
    assert {(r.status, r.attempts) for r in rows} == {("ready", 1)}


def test_cli_analyse_pending(app, alice, pending):
    pending(alice, n=2)
    result = app.test_cli_runner().invoke(args=["crm", "recordings", "analyse-pending"])
    assert result.exit_code == 0, result.output
    assert "2 analysed, 0 failed" in result.output
    again = app.test_cli_runner().invoke(args=["crm", "recordings", "analyse-pending", "--limit", "1"])
    assert "0 analysed, 0 failed" in again.output


def test_the_worker_job_is_in_the_table(alice, pending):
    [job] = [job for job in job_table() if job.id == "recordings-analyse"]
    pending(alice)
    assert job.func(NOW) == {"ready": 1, "failed": 0}
    assert job.func(NOW) is None


def test_a_recording_attached_before_is_read_from_the_old_folder(api, app, alice, make_call, storage, call_audio):
    """Migrated uploads keep their file in instance/call-recordings/: analysed and served from there."""
    call = make_call(alice)
    legacy = app.config["INSTANCE_DIR"] / "call-recordings"
    legacy.mkdir(parents=True)
    (legacy / f"{call.id}-0123abcd.wav").write_bytes(call_audio("wav"))
    db.session.add(Recording(activity_id=call.id, user_id=alice.id, source="upload", status="pending",
                             channels="rep-left", storage_key=f"{call.id}-0123abcd.wav", content_type="audio/wav",
                             created_at=NOW))
    db.session.commit()
    assert worker.analyse_pending(NOW) == {"ready": 1, "failed": 0}
    recording = db.session.scalar(select(Recording))
    with api(alice).get(f"/recordings/{recording.id}/audio", headers={"Range": "bytes=0-3"}) as response:
        assert response.status_code == 206 and response.data == b"RIFF"
