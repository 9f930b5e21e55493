"""A web request may use ``REQUEST_STATEMENT_TIMEOUT_MS`` of database time on PostgreSQL
(``crm/web/budget.py``): a statement past it is cancelled and answered 503 with Retry-After
(JSON under /api, a page elsewhere), the session rolled back cleanly; the worker's jobs,
the CLI and the scheduler run outside requests and are never limited.

The routes that sleep are registered on an app of their own (the shared test app has
already served requests, after which Flask takes no new routes); it uses the same database.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from config import TestConfig
from crm.app import create_app
from crm.contacts.models import Company
from crm.extensions import db
from crm.scheduler import Job, run_job
from crm.web import budget
from crm.web.access import public

TIMEOUT_MS = 50
SLEEP = "SELECT pg_sleep(0.5)"  # ten times the budget

postgresql_only = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                     reason="statement timeouts are PostgreSQL's (SQLite has none)")
FAKE_MONOTONIC = {"now": 100.0}


class FakeTime:
    @staticmethod
    def monotonic() -> float:
        return FAKE_MONOTONIC["now"]


@pytest.fixture(scope="module")
def sleepy_app(app):
    """An app with a tiny budget and test-only routes that sleep in the database."""
    sleepy = create_app(TestConfig())
    sleepy.config["REQUEST_STATEMENT_TIMEOUT_MS"] = TIMEOUT_MS

    @sleepy.route("/test-only/sleep")
    @public
    def sleep_page():
        db.session.execute(text(SLEEP))
        return "slept"

    @sleepy.route("/api/v1/test-only/sleep")
    @public
    def sleep_api():
        db.session.execute(text(SLEEP))
        return {"slept": True}

    @sleepy.route("/test-only/write-then-sleep")
    @public
    def write_then_sleep():
        db.session.add(Company(name="Half-done", custom={}))
        db.session.flush()
        db.session.execute(text(SLEEP))
        db.session.commit()
        return "written"

    @sleepy.route("/test-only/timeouts")
    @public
    def timeouts():
        first = db.session.scalar(text("SHOW statement_timeout"))
        db.session.commit()
        FAKE_MONOTONIC["now"] += 0.02  # the request spends 20 ms before its second transaction
        second = db.session.scalar(text("SHOW statement_timeout"))
        return {"first": first, "second": second}

    @sleepy.route("/test-only/broken-database")
    @public
    def broken_database():
        raise OperationalError("SELECT 1", {}, RuntimeError("server closed the connection unexpectedly"))

    @sleepy.route("/test-only/count")
    @public
    def count():
        return {"companies": db.session.scalar(select(func.count()).select_from(Company))}

    yield sleepy
    with sleepy.app_context():
        db.engine.dispose()


@pytest.fixture
def sleepy(sleepy_app):
    sleepy_app.config["REQUEST_STATEMENT_TIMEOUT_MS"] = TIMEOUT_MS
    return sleepy_app.test_client()


@postgresql_only
def test_a_page_past_its_budget_is_a_503_page_with_retry_after(sleepy):
    response = sleepy.get("/test-only/sleep")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(budget.RETRY_AFTER_SECONDS)
    html = response.get_data(as_text=True)
    assert "This is taking too long" in html and "0.05 s of database time" in html


@postgresql_only
def test_an_api_request_past_its_budget_is_a_json_503(sleepy):
    response = sleepy.get("/api/v1/test-only/sleep")
    assert response.status_code == 503 and response.headers["Retry-After"] == str(budget.RETRY_AFTER_SECONDS)
    error = response.get_json()["error"]
    assert error["code"] == "statement_timeout" and "database time" in error["message"] and error["fields"] == {}


@postgresql_only
def test_the_cancelled_request_is_rolled_back_and_the_next_one_is_served(sleepy):
    assert sleepy.get("/test-only/write-then-sleep").status_code == 503
    for _ in range(3):  # the pooled connections are clean: no aborted transaction, no leftover setting
        assert sleepy.get("/test-only/count").get_json() == {"companies": 0}
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


@postgresql_only
def test_every_transaction_of_a_request_gets_what_is_left_of_its_budget(sleepy, sleepy_app, monkeypatch):
    monkeypatch.setattr(budget, "time", FakeTime)
    sleepy_app.config["REQUEST_STATEMENT_TIMEOUT_MS"] = 1000
    assert sleepy.get("/test-only/timeouts").get_json() == {"first": "1s", "second": "980ms"}


@postgresql_only
def test_zero_disables_the_budget(sleepy, sleepy_app):
    sleepy_app.config["REQUEST_STATEMENT_TIMEOUT_MS"] = 0
    assert sleepy.get("/test-only/sleep").status_code == 200


@postgresql_only
def test_worker_jobs_and_code_outside_requests_are_not_limited(sleepy_app):
    slept = []

    def long_job(now):
        db.session.execute(text(SLEEP))
        slept.append(db.session.scalar(text("SHOW statement_timeout")))

    run_job(sleepy_app, Job("long", long_job, None))  # as the worker and the in-process scheduler do
    assert slept == ["0"]
    with sleepy_app.app_context():  # as a CLI command does
        db.session.execute(text(SLEEP))
        assert db.session.scalar(text("SHOW statement_timeout")) == "0"
        db.session.rollback()


def test_other_database_errors_stay_500(sleepy):
    assert sleepy.get("/test-only/broken-database").status_code == 500


def test_only_postgresql_transactions_get_the_timeout(sleepy, sleepy_app):
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with sleepy_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert sleepy.get("/test-only/count").get_json() == {"companies": 0}
    finally:
        event.remove(engine, "before_cursor_execute", record)
    limited = [s for s in statements if "statement_timeout" in s]
    if engine.dialect.name == "postgresql":
        assert len(limited) == 1 and limited[0].startswith("SET LOCAL statement_timeout = ")
        assert 1 <= int(limited[0].rsplit(" ", 1)[1]) <= TIMEOUT_MS
    else:
        assert limited == []
