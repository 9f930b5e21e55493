"""Sign-in limits, per account and per client address, where each limit is counted, and the
``Retry-After`` of every 429. (Across real processes: ``test_rate_limits_processes.py``.)"""
from __future__ import annotations

import pytest
from limits.storage import MemoryStorage

from config import TestConfig
from crm.app import create_app
from crm.extensions import SweptMemoryStorage, limiter
from crm.ratelimits.storage import DatabaseStorage
from tests.conftest import PASSWORD, csrf_from


@pytest.fixture
def attempt(client):
    """``attempt(email, address)``: one wrong-password sign-in from that client address."""
    token = csrf_from(client.get("/login").get_data(as_text=True))

    def post(email, address="198.51.100.1", password="wrong password"):
        return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                           environ_base={"REMOTE_ADDR": address})

    return post


@pytest.fixture
def limit(app, monkeypatch):
    def set_limit(value):
        monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", value)

    return set_limit


def test_an_account_is_limited_whatever_the_address(attempt, alice):
    statuses = [attempt(alice.email, f"198.51.100.{n}").status_code for n in range(1, 13)]
    assert statuses == [401] * 10 + [429] * 2


def test_an_address_is_limited_whatever_the_account(attempt, alice):
    statuses = [attempt(f"nobody{n}@example.com").status_code for n in range(10)]
    assert statuses == [401] * 10
    assert attempt(alice.email).status_code == 429
    assert attempt(alice.email, "203.0.113.7").status_code == 401  # alice's own count: 1


def test_every_spelling_of_an_account_shares_its_count(attempt, alice, limit):
    limit("4 per minute")
    spellings = [alice.email, alice.email.upper(), f"  {alice.email}  ", alice.email.replace("alice", "Alice")]
    assert [attempt(s, f"198.51.100.{n}").status_code for n, s in enumerate(spellings, 1)] == [401] * 4
    assert attempt(alice.email, "198.51.100.99").status_code == 429


def test_the_right_password_is_refused_too_once_the_limit_is_reached(attempt, alice, limit):
    limit("2 per minute")
    assert [attempt(alice.email).status_code for _ in range(2)] == [401, 401]
    assert attempt(alice.email, password=PASSWORD).status_code == 429


def test_the_login_page_itself_is_not_limited(client, attempt, alice, limit):
    limit("1 per minute")
    assert [client.get("/login").status_code for _ in range(3)] == [200] * 3
    assert attempt(alice.email).status_code == 401


def test_a_429_page_says_when_to_come_back(attempt, alice, limit):
    limit("1 per minute;5 per hour")
    attempt(alice.email)
    refused = attempt(alice.email)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # the minute window's end
    assert "text/html" in refused.headers["Content-Type"]


def test_only_429s_carry_retry_after(attempt, alice):
    assert "Retry-After" not in attempt(alice.email).headers


def test_an_email_of_any_length_is_counted_not_stored(attempt, limit):
    limit("2 per minute")
    huge = "x" * 200_000 + "@example.com"
    assert [attempt(huge).status_code for _ in range(3)] == [400, 400, 429]  # the form refuses it


# --- where limits are counted ------------------------------------------------------------------

def store_for(app, path: str):
    """The store the limits of a request to ``path`` count in."""
    method = "POST" if path in ("/login", "/t/collect", "/t/form") else "GET"
    with app.test_request_context(path, method=method):
        assert limiter.identify_request()  # the path reached a view
        return limiter.limiter.storage


def test_sign_in_counts_in_the_shared_store_and_tracking_in_process_memory(app):
    on_postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    shared = store_for(app, "/login")
    assert shared is limiter.shared_storage
    # On PostgreSQL the app's database; SQLite's embedded default is one process: memory.
    assert isinstance(shared, DatabaseStorage if on_postgresql else SweptMemoryStorage)
    for hot in ("/t/o/some-token.gif", "/t/c/some-token", "/t/collect"):
        assert store_for(app, hot) is limiter.storage
        assert type(limiter.storage) is SweptMemoryStorage
    assert store_for(app, "/t/form") is shared  # a low limit (10 a minute): exact
    assert store_for(app, "/api/v1/contacts") is shared


@pytest.fixture
def app_with(app):
    """``app_with(uri)``: another app, with ``RATELIMIT_STORAGE_URI=uri``, bound to the
    (process-wide) limiter for one test; the limiter is bound to the suite's app again after."""
    def build(uri: str | None):
        config = TestConfig()
        if uri is not None:
            config.RATELIMIT_STORAGE_URI = uri
        return create_app(config)

    yield build
    limiter.init_app(app)


def test_crm_database_counts_in_the_database_on_sqlite_too(app_with):
    other = app_with("crm-database://")
    assert isinstance(store_for(other, "/login"), DatabaseStorage)
    assert isinstance(store_for(other, "/t/o/some-token.gif"), MemoryStorage)


def test_redis_holds_every_limit_but_the_in_process_ones(app_with):
    other = app_with("redis://127.0.0.1:6379/15")
    assert type(store_for(other, "/login")).__name__ == "RedisStorage"
    assert isinstance(store_for(other, "/t/collect"), SweptMemoryStorage)

