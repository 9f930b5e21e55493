"""Recomputing every verdict runs in the worker (issue #19: it replays every tracking event
ever stored): the API answers 202 with the job's URL and the admin page redirects to the job's
status page, both at once, without touching a verdict; the worker replays emails, visitors and
lone events in chunks committed with the job's progress, resumes after a crash where the last
chunk ended, and the status page and the API show progress and the counts. Admins only."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text

from crm.extensions import db
from crm.jobs import runner
from crm.jobs.models import BackgroundJob
from crm.tracking import background, recompute, verdicts
from crm.tracking.models import TrackingEvent, Visitor
from tests.conftest import NOW, csrf_from
from tests.crm.tracking.conftest import CHROME, SENT_AT

API = "/api/v1"


def _job() -> BackgroundJob:
    db.session.expire_all()
    return db.session.scalar(select(BackgroundJob))


def _jobs() -> int:
    return db.session.scalar(select(func.count()).select_from(BackgroundJob))


@pytest.fixture
def scanner_click(client, at, click_paths, sent_email):
    """A click 15 s after delivery: human under the default 10 s rule. Re-judged under a 30 s
    rule it is a scanner's, so the default recompute has one event to change back."""
    at(SENT_AT + timedelta(seconds=15))
    client.get(click_paths[0], headers={"User-Agent": CHROME})
    at(NOW)
    recompute.recompute_verdicts(verdicts.Rules(click_after_delivery_seconds=30))
    db.session.commit()
    click = db.session.scalars(select(TrackingEvent)).one()
    assert click.verdict == "scanner"
    return click


@contextmanager
def statements():
    """The SQL the app runs meanwhile (to show a request reads no event at all)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _verdict(event_id: int) -> str:
    db.session.expire_all()
    return db.session.get(TrackingEvent, event_id).verdict


@pytest.fixture
def misjudged():
    """Seven HEAD requests stored as human (a scanner's, under any rules): three emails (one with
    two events), two visitors, and two events of neither."""
    visitors = [Visitor(key=f"visitor-key-{n:08d}", first_seen_at=NOW, last_seen_at=NOW) for n in range(2)]
    db.session.add_all(visitors)
    db.session.flush()
    where = [{"outbound_email_id": 9001}, {"outbound_email_id": 9001}, {"outbound_email_id": 9002},
             {"outbound_email_id": 9003}, {"visitor_id": visitors[0].id}, {"visitor_id": visitors[1].id}, {}, {}]
    for n, keys in enumerate(where):
        db.session.add(TrackingEvent(kind="page_viewed" if "outbound_email_id" not in keys else "email_opened",
                                     occurred_at=NOW - timedelta(minutes=n), method="HEAD", user_agent=CHROME,
                                     verdict="human", reason="no machine signal", **keys))
    db.session.commit()
    return len(where)


# --- the request answers at once; the worker does the work ------------------------------------

def test_the_api_queues_the_recompute_and_the_worker_does_it(client, api_token, admin, scanner_click, sent_email):
    headers = api_token(admin)
    with statements() as sql:
        response = client.post(f"{API}/tracking/recompute-verdicts", headers=headers)
    assert response.status_code == 202
    assert sql and not [s for s in sql if "tracking_events" in s]  # however many events: none read
    body = response.get_json()
    assert response.headers["Location"] == body["url"] == f"{API}/tracking/recompute-verdicts/jobs/{body['id']}"
    assert (body["status"], body["done"], body["result"]) == ("queued", 0, None)
    assert _verdict(scanner_click.id) == "scanner"  # nothing done in the request
    job = _job()
    assert (job.kind, job.user_id, job.created_at) == (background.KIND, admin.id, NOW)
    again = client.post(f"{API}/tracking/recompute-verdicts", headers=headers)
    assert again.status_code == 202 and again.get_json()["id"] == body["id"]  # one at a time
    assert _jobs() == 1

    assert runner.run_queued_jobs(NOW) == 1
    done = client.get(body["url"], headers=headers).get_json()
    assert (done["status"], done["done"], done["total"], done["error"]) == ("done", 1, 1, None)
    assert done["result"] == {"examined": 1, "changed": 1}
    assert _verdict(scanner_click.id) == "human"
    db.session.refresh(sent_email)
    assert sent_email.first_human_click_at == SENT_AT + timedelta(seconds=15)  # marks follow the verdicts
    # Once done, asking again queues a new job.
    assert client.post(f"{API}/tracking/recompute-verdicts", headers=headers).get_json()["id"] != body["id"]


def test_the_page_redirects_to_the_status_page_which_shows_progress_then_the_result(
        client, login, admin, scanner_click):
    login(client, admin)
    token = csrf_from(client.get("/tracking/admin/origins").get_data(as_text=True))
    with statements() as sql:
        response = client.post("/tracking/admin/recompute", data={"csrf_token": token})
    assert response.status_code == 303
    assert sql and not [s for s in sql if "tracking_events" in s]
    job = _job()
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert _verdict(scanner_click.id) == "scanner"
    waiting = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Recomputing every tracking verdict" in waiting and "Waiting for the worker" in waiting
    assert 'http-equiv="refresh"' in waiting and "Recomputing every verdict in the background." in waiting
    origins_page = client.get("/tracking/admin/origins").get_data(as_text=True)
    assert f'href="/jobs/{job.id}"' in origins_page  # the running job is a click away
    again = client.post("/tracking/admin/recompute", data={"csrf_token": token})
    assert again.headers["Location"] == response.headers["Location"] and _jobs() == 1

    runner.run_queued_jobs(NOW)
    finished = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-job-status="done"' in finished and 'http-equiv="refresh"' not in finished
    assert "Verdicts recomputed: 1 of 1 events changed." in finished and 'data-progress="1/1"' in finished
    assert _verdict(scanner_click.id) == "human"
    assert f'href="/jobs/{job.id}"' not in client.get("/tracking/admin/origins").get_data(as_text=True)


def test_nothing_to_replay_is_a_job_done_with_zero_counts(client, api_token, admin):
    url = client.post(f"{API}/tracking/recompute-verdicts", headers=api_token(admin)).get_json()["url"]
    runner.run_queued_jobs(NOW)
    done = client.get(url, headers=api_token(admin)).get_json()
    assert (done["status"], done["done"], done["total"], done["result"]) == (
        "done", 0, 0, {"examined": 0, "changed": 0})


def test_the_cli_still_recomputes_at_once(app, scanner_click):
    result = app.test_cli_runner().invoke(args=["crm", "tracking", "recompute-verdicts"])
    assert result.exit_code == 0 and "1 of 1 event changed verdict" in result.output
    assert _verdict(scanner_click.id) == "human" and _jobs() == 0


# --- chunks, progress, a crash ----------------------------------------------------------------

def test_progress_is_committed_chunk_by_chunk(admin, misjudged, monkeypatch):
    monkeypatch.setattr(recompute, "CHUNK", 2)
    background.queue_recompute(admin, NOW)
    db.session.commit()
    seen = []
    chunk = recompute.recompute_chunk

    def watching(cursor, limit, rules=verdicts.DEFAULT_RULES):
        # What another request reads meanwhile: the committed row, from its own connection.
        with db.engine.connect() as other:
            seen.append(tuple(other.execute(text("SELECT done, total FROM background_jobs")).one()))
        return chunk(cursor, limit, rules)

    monkeypatch.setattr(recompute, "recompute_chunk", watching)
    runner.run_queued_jobs(NOW)
    # 3 emails (2 + 1), 2 visitors, 2 lone events, with an empty chunk where a stage ends on a
    # full one; total 7 counted before the first chunk.
    assert seen == [(0, 7), (2, 7), (3, 7), (5, 7), (5, 7), (7, 7)]
    job = _job()
    assert (job.status, job.done, job.total, job.result) == ("done", 7, 7, {"examined": misjudged, "changed": 8})
    assert set(db.session.scalars(select(TrackingEvent.verdict))) == {"scanner"}


class WorkerKilled(BaseException):
    """Stands for the worker process dying (SIGKILL, OOM): nothing after it runs."""


def test_a_second_claim_resumes_after_the_last_committed_chunk(admin, misjudged, monkeypatch, clock):
    monkeypatch.setattr(recompute, "CHUNK", 2)
    background.queue_recompute(admin, NOW)
    db.session.commit()
    cursors = []
    chunk = recompute.recompute_chunk

    def dies_in_the_third_chunk(cursor, limit, rules=verdicts.DEFAULT_RULES):
        cursors.append(dict(cursor))
        result = chunk(cursor, limit, rules)
        if len(cursors) == 3:
            raise WorkerKilled  # the third chunk's verdicts are flushed, never committed
        return result

    monkeypatch.setattr(recompute, "recompute_chunk", dies_in_the_third_chunk)
    with pytest.raises(WorkerKilled):
        runner.run_queued_jobs(NOW)
    db.session.rollback()  # what the dead process's connection amounts to
    job = _job()
    assert (job.status, job.done, job.attempts, job.result) == ("running", 3, 1, {"examined": 4, "changed": 4})
    assert job.params["cursor"] == {"stage": "visitors", "after": None}
    assert db.session.scalar(select(func.count()).select_from(TrackingEvent).where(
        TrackingEvent.verdict == "human")) == 4  # the visitors' and lone events, untouched

    later = NOW + timedelta(minutes=runner.DEFAULT_STALE_MINUTES + 1)
    clock.freeze(later)
    assert runner.run_queued_jobs(later) == 1
    assert cursors[3] == {"stage": "visitors", "after": None}  # resumed exactly there
    job = _job()
    assert (job.status, job.done, job.total, job.attempts) == ("done", 7, 7, 2)
    assert job.result == {"examined": 8, "changed": 8}  # every event once: none replayed twice
    assert set(db.session.scalars(select(TrackingEvent.verdict))) == {"scanner"}


# --- permissions ------------------------------------------------------------------------------

def test_only_admins_recompute_and_see_the_job(client, api_token, login, admin, alice, mallory):
    for user in (alice, mallory):
        assert client.post(f"{API}/tracking/recompute-verdicts", headers=api_token(user)).status_code == 403
    assert _jobs() == 0
    login(client, mallory)
    token = csrf_from(client.get("/sequences/enroll-bulk").get_data(as_text=True))
    assert client.post("/tracking/admin/recompute", data={"csrf_token": token}).status_code == 403
    assert _jobs() == 0

    url = client.post(f"{API}/tracking/recompute-verdicts", headers=api_token(admin)).get_json()["url"]
    job_id = _job().id
    assert client.get(url, headers=api_token(alice)).status_code == 403
    assert client.get(f"/jobs/{job_id}").status_code == 404  # mallory: not hers to know of
    assert client.get(url, headers=api_token(admin)).status_code == 200
    # The job resource is the recompute's: another kind's id is not found there.
    other = runner.enqueue("scoring.recompute", admin, {}, NOW)
    db.session.commit()
    assert client.get(f"{API}/tracking/recompute-verdicts/jobs/{other.id}",
                      headers=api_token(admin)).status_code == 404


def test_the_service_refuses_a_non_admin(alice):
    from crm.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        background.queue_recompute(alice, NOW)
