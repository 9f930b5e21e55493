"""The documented limits hold exactly with several web processes: two real gunicorn workers
(``gunicorn wsgi:app``, production settings) on this run's database. On PostgreSQL the limits
go to the database by themselves; on SQLite with ``RATELIMIT_STORAGE_URI=crm-database://``.

Before the shared store, each worker counted on its own: 40 wrong passwords for one account
within a minute met their first 429 at attempt 16, not 11."""
from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import csrf_from

ROOT = Path(__file__).resolve().parents[3]
STARTUP_SECONDS = 90  # two workers importing the app on a busy machine
REQUEST_TIMEOUT = 30


class Browser:
    """Just enough of a browser over http.client: keeps cookies, posts forms."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None,
                keep_cookies: bool = True):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        if keep_cookies:
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return response.status, response.headers, text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log

    def pids_that_served(self, method: str, path: str) -> set[str]:
        pattern = re.compile(rf"^<(\d+)> {method} {re.escape(path)} \d{{3}}$", re.MULTILINE)
        return set(pattern.findall(self.log.read_text(errors="replace")))


@pytest.fixture(scope="module")
def two_workers(app, tmp_path_factory):
    """One gunicorn for the module (starting one is most of these tests' time); the suite
    empties the tables, counters included, after each test."""
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]  # the suite's own database
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("RATELIMIT_", "LOGIN_RATE", "API_", "CRM_", "DATABASE_URL", "TEST_DATABASE"))}
    env.update(CRM_CONFIG="production", SECRET_KEY=secrets.token_hex(16), DATABASE_URL=database_url,
               COOKIE_SECURE="false", LOGIN_RATE_LIMIT="10 per minute;50 per hour",
               API_AUTH_FAILURE_RATE_LIMIT="10 per minute", PYTHONUNBUFFERED="1")
    if database_url.startswith("sqlite"):
        env["RATELIMIT_STORAGE_URI"] = "crm-database://"  # PostgreSQL needs no setting
    port, log = free_port(), tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "--timeout", "60", "--access-logfile", "-", "--access-logformat", "%(p)s %(m)s %(U)s %(s)s",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Gunicorn(port, log)
    try:
        _wait_for_both_workers(server, process)
        yield server
    finally:
        process.send_signal(signal.SIGQUIT)  # quick shutdown: the master stops its workers
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own process group (start_new_session)
            process.wait(timeout=10)


def _wait_for_both_workers(server: Gunicorn, process: subprocess.Popen) -> None:
    """Until each worker has answered a request (a worker still importing the app accepts
    nothing, and one worker alone would prove nothing)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while len(server.pids_that_served("GET", "/login")) < 2:
        if process.poll() is not None:
            pytest.fail("gunicorn stopped:\n" + server.log.read_text(errors="replace")[-3000:])
        if time.monotonic() > deadline:
            pytest.fail("gunicorn's two workers did not both answer:\n"
                        + server.log.read_text(errors="replace")[-3000:])
        try:
            Browser(server.port).request("GET", "/login")
        except OSError:
            time.sleep(0.2)


def one_by_one_until_both_workers_served(server: Gunicorn, method: str, path: str, send, at_most: int) -> list:
    """``send()`` one request at a time until each worker has answered one (a burst can all
    go to one worker: it takes the next connection while the other is still waking up)."""
    answers = []
    while len(server.pids_that_served(method, path)) < 2:
        assert len(answers) < at_most, "one worker answered every request"
        answers.append(send())
        time.sleep(0.05)  # the worker writes its access-log line after answering
    return answers


def in_parallel(count: int, send) -> list:
    """``send()`` from ``count`` threads at once; their results."""
    if count == 0:
        return []
    results, errors = [None] * count, []
    start = threading.Barrier(count)

    def run(i):
        try:
            start.wait(timeout=REQUEST_TIMEOUT)
            results[i] = send()
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT * 2)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    return results


def test_wrong_passwords_for_one_account_get_exactly_ten_answers_then_429(two_workers, alice):
    browser = Browser(two_workers.port)
    status, _headers, page = browser.request("GET", "/login")
    assert status == 200
    form = {"email": alice.email, "password": "not the password", "csrf_token": csrf_from(page)}

    def attempt():
        return browser.request("POST", "/login", form=form, keep_cookies=False)

    # 15 attempts, both workers answering, the last ones all at once: exactly the documented
    # 10 are checked.
    # Up to all 15 one by one: on a loaded machine one worker can take many connections in a
    # row; the shared limit is proven as soon as both have answered some of the 15.
    answers = one_by_one_until_both_workers_served(two_workers, "POST", "/login", attempt, at_most=15)
    answers += in_parallel(15 - len(answers), attempt)
    assert Counter(status for status, _, _ in answers) == {401: 10, 429: 5}
    assert all(1 <= int(headers["Retry-After"]) <= 60 for status, headers, _ in answers if status == 429)
    # And every one after them is refused, saying when to come back.
    for _ in range(3):
        status, headers, _ = attempt()
        assert status == 429
        assert 1 <= int(headers["Retry-After"]) <= 60


def test_made_up_api_tokens_are_limited_per_address_across_workers(two_workers):
    def call():
        status, headers, body = Browser(two_workers.port).request(
            "GET", "/api/v1/contacts", headers={"Authorization": "Bearer crm_" + secrets.token_urlsafe(32)})
        return status, headers.get("Retry-After"), headers.get("Content-Type"), body

    answers = one_by_one_until_both_workers_served(two_workers, "GET", "/api/v1/contacts", call, at_most=14)
    answers += in_parallel(14 - len(answers), call)
    assert Counter(status for status, *_ in answers) == {401: 10, 429: 4}
    refused = [answer for answer in answers if answer[0] == 429]
    assert all(1 <= int(retry) <= 60 and content_type == "application/json" and '"rate_limited"' in body
               for _status, retry, content_type, body in refused)
