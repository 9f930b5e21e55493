from crm.auth.models import UserSession
from crm.extensions import db
from tests.conftest import PASSWORD, csrf_from


def test_login_then_logout_revokes_the_server_session(client, alice, login):
    login(client, alice)
    assert client.get("/contacts").status_code == 200
    page = client.get("/account").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert db.session.query(UserSession).one().revoked_at is not None
    assert client.get("/contacts").status_code == 302  # back to login


def test_stolen_session_cookie_is_dead_after_logout(app, alice, login):
    browser = app.test_client()
    login(browser, alice)
    cookie = browser.get_cookie("session")
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/contacts").status_code == 200
    page = browser.get("/account").get_data(as_text=True)
    browser.post("/logout", data={"csrf_token": csrf_from(page)})
    assert thief.get("/contacts").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part(client, alice):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": alice.email, "password": "nope", "csrf_token": token})
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    response = client.post("/login", data={"email": "ghost@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 401


def test_login_without_csrf_token_is_rejected(client, alice):
    response = client.post("/login", data={"email": alice.email, "password": PASSWORD})
    assert response.status_code == 400


def test_login_attempts_are_rate_limited(client, alice):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post("/login", data={"email": alice.email, "password": "wrong", "csrf_token": token}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


def test_next_parameter_never_redirects_off_site(client, alice):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = client.post(
            "/login?next=" + target,
            data={"email": alice.email, "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"] and "javascript" not in response.headers["Location"]
        client.get("/")  # keep going as the same browser; log out not needed for the check
        client.delete_cookie("session")
        token = csrf_from(client.get("/login").get_data(as_text=True))


def test_session_cookie_flags(client, alice, login):
    response = login(client, alice)
    cookie_header = " ".join(response.headers.getlist("Set-Cookie"))
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header
