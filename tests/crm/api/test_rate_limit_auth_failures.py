"""Failed API authentication is limited per client address (``API_AUTH_FAILURE_RATE_LIMIT``),
besides the per-token ``API_RATE_LIMIT``; every API 429 is the JSON error with ``Retry-After``."""
from __future__ import annotations

import re
import secrets

import pytest

from tests.crm.api.conftest import error_of

ADDRESS = "198.51.100.30"


@pytest.fixture
def failures_allowed(app, monkeypatch):
    def allow(value: str):
        monkeypatch.setitem(app.config, "API_AUTH_FAILURE_RATE_LIMIT", value)

    return allow


def call(client, authorization: str | None = None, address: str = ADDRESS, path: str = "/api/v1/contacts"):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": address})


def bogus() -> str:
    return "Bearer crm_" + secrets.token_urlsafe(32)


def test_made_up_tokens_are_limited_per_address(client, failures_allowed):
    failures_allowed("3 per minute")
    responses = [call(client, bogus()) for _ in range(5)]
    assert [r.status_code for r in responses] == [401, 401, 401, 429, 429]
    refused = responses[-1]
    error = error_of(refused)
    assert error["code"] == "rate_limited"
    seconds = int(refused.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert re.search(rf"retry in {seconds} s", error["message"])
    assert call(client, bogus(), address="203.0.113.5").status_code == 401  # another address


def test_every_kind_of_failed_credentials_counts(client, failures_allowed):
    failures_allowed("3 per minute")
    for header in ("Basic dXNlcjpwYXNz", "Bearer ", "Bearer not-even-a-token"):
        assert call(client, header).status_code == 401
    assert call(client, bogus()).status_code == 429


def test_requests_without_credentials_are_not_failures(client, failures_allowed):
    failures_allowed("2 per minute")
    assert [call(client).status_code for _ in range(4)] == [401] * 4
    assert call(client, bogus()).status_code == 401


def test_public_routes_count_failed_credentials_too(client, failures_allowed):
    failures_allowed("1 per minute")
    assert call(client, bogus(), path="/api/v1/openapi.json").status_code == 200  # served, counted
    assert call(client, bogus(), path="/api/v1/openapi.json").status_code == 429


def test_a_valid_token_is_served_from_an_address_over_the_limit(client, alice, api_token, failures_allowed):
    """Tokens are 256 random bits: the limit stops floods of bogus ones, not guessing, and must
    not lock out the other clients behind the same address."""
    failures_allowed("2 per minute")
    assert [call(client, bogus()).status_code for _ in range(3)] == [401, 401, 429]
    assert call(client, api_token(alice)["Authorization"]).status_code == 200


def test_the_per_token_limit_says_when_to_come_back(app, client, alice, api_token, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    token = api_token(alice)["Authorization"]
    responses = [call(client, token) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert error_of(responses[-1])["code"] == "rate_limited"
    assert 1 <= int(responses[-1].headers["Retry-After"]) <= 60
    assert "Retry-After" not in responses[0].headers
