"""What the browser is told to keep and how to reach us: HSTS over https only, no stored copy of
a signed-in page or an API answer, the site's data cleared at sign-out, and the forwarded
headers of a trusted proxy believed (only when configured)."""
from __future__ import annotations

from config import TestConfig
from crm.app import create_app
from tests.conftest import csrf_from


def test_hsts_only_over_https(app, client):
    plain = client.get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    secure = client.get("/login", base_url="https://crm.example.com")
    assert secure.headers["Strict-Transport-Security"] == f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains"
    assert app.config["HSTS_SECONDS"] >= 180 * 24 * 3600


def test_policy_forbids_plugins_and_base_rewrites(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "object-src 'none'" in policy and "base-uri 'none'" in policy and "frame-ancestors 'none'" in policy


def test_signed_in_pages_and_api_answers_are_not_stored(client, login, alice, api_token):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")  # public: cacheable as usual
    login(client, alice)
    assert client.get("/contacts").headers["Cache-Control"] == "no-store"
    answer = client.get("/api/v1/contacts", headers=api_token(alice))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"


def test_sign_out_clears_what_the_browser_kept(client, login, alice):
    login(client, alice)
    token = csrf_from(client.get("/contacts").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/contacts").status_code in (302, 401)


def test_forwarded_headers_count_only_behind_a_trusted_proxy(monkeypatch):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    for count, expect_hsts in ((0, False), (1, True)):
        config = TestConfig()
        config.TRUSTED_PROXY_COUNT = count
        proxied = create_app(config)
        with proxied.test_client() as client:
            response = client.get("/login", headers=forwarded)
        assert ("Strict-Transport-Security" in response.headers) is expect_hsts, count
