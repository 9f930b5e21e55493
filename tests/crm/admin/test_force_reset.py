"""An administrator forces a password reset (issue #19): the user's sessions end and tokens are
revoked at once, and after their next sign-in nothing but the page to choose a new password is
reachable until they have chosen one."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.auth import services
from crm.auth.models import User
from crm.errors import Conflict, NotFound, PermissionDenied
from crm.extensions import db
from tests.conftest import NOW, PASSWORD, csrf_from

NEW_PASSWORD = "lantern orbit cactus 1987"


def fresh(user) -> User:
    db.session.expire_all()  # the pages changed the row in their own sessions
    return db.session.get(User, user.id)


def signed_in(client) -> bool:
    return client.get("/contacts").status_code == 200


@pytest.fixture
def as_admin(client, admin, login):
    login(client, admin)
    return client


def force(as_admin, user):
    page = as_admin.get(f"/admin/users/{user.id}/force-reset")
    assert page.status_code == 200
    return page, as_admin.post(f"/admin/users/{user.id}/force-reset",
                               data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def sign_in(client, user, password=PASSWORD, next_=None):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login" + (f"?next={next_}" if next_ else ""),
                       data={"email": user.email, "password": password, "csrf_token": csrf_from(page)})


def set_new(client, password, confirm=None, next_=None):
    page = client.get("/account/new-password").get_data(as_text=True)
    return client.post("/account/new-password" + (f"?next={next_}" if next_ else ""), data={
        "csrf_token": csrf_from(page), "new_password": password,
        "confirm_password": password if confirm is None else confirm,
    })


def test_force_reset_end_to_end(app, as_admin, alice, login, api_token):
    browser = app.test_client()
    login(browser, alice)
    headers = api_token(alice)
    assert signed_in(browser)

    # The admin sees what will end, then confirms.
    page, response = force(as_admin, alice)
    html = page.get_data(as_text=True)
    assert 'id="sessions-to-end">1<' in html and 'id="tokens-to-revoke">1<' in html
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    users_page = as_admin.get("/admin/users").get_data(as_text=True)
    assert ("Alice Rep must choose a new password at their next sign-in. 1 session was signed out. "
            "1 API token was revoked.") in users_page
    assert "Must choose a new password" in users_page
    assert fresh(alice).must_change_password

    # Everything of Alice's stopped at once.
    assert not signed_in(browser)
    assert app.test_client().get("/api/v1/contacts", headers=headers).status_code == 401

    # She signs in with her old password and lands on the new-password page, wherever she asked to go.
    response = sign_in(browser, alice, next_="/deals")
    assert response.status_code == 302 and "/account/new-password" in response.headers["Location"]
    for path in ("/", "/contacts", "/account", "/account/tokens", "/admin/users"):
        response = browser.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/account/new-password"), path
    # Posting elsewhere is held too (no token created behind the reset).
    tokens_page = browser.get("/account/new-password").get_data(as_text=True)
    response = browser.post("/account/tokens", data={"name": "sneaky", "csrf_token": csrf_from(tokens_page)})
    assert response.headers["Location"].endswith("/account/new-password")
    assert services.active_token_count(alice) == 0
    # A token minted outside the pages (crm create-token) waits for the new password as well.
    late_headers = api_token(alice)
    assert app.test_client().get("/api/v1/contacts", headers=late_headers).status_code == 401

    page = browser.get("/account/new-password")
    assert page.status_code == 200
    assert "An administrator asked you to choose a new password" in page.get_data(as_text=True)

    # Weak, unchanged and mistyped passwords are refused with the reason.
    response = set_new(browser, "aaaaaaaaaaaa")
    assert response.status_code == 422
    assert 'Repeats like &#34;aaa&#34; are easy to guess.' in response.get_data(as_text=True)
    response = set_new(browser, PASSWORD)
    assert response.status_code == 422
    assert "The new password must be different from the current one." in response.get_data(as_text=True)
    response = set_new(browser, NEW_PASSWORD, confirm="lantern orbit cactus 1988")
    assert response.status_code == 422 and "The two new passwords are not the same." in response.get_data(as_text=True)
    assert fresh(alice).must_change_password

    # A good one: on to where she was going, signed in, the flag cleared.
    response = set_new(browser, NEW_PASSWORD, next_="/deals")
    assert response.status_code == 302 and response.headers["Location"].endswith("/deals")
    deals_page = browser.get("/deals").get_data(as_text=True)
    assert "New password set. Welcome back. No other session was signed in." in deals_page
    assert signed_in(browser)
    assert not fresh(alice).must_change_password
    assert services.user_for_api_token(late_headers["Authorization"].split()[1], NOW) is None  # revoked by the change
    assert browser.get("/account/new-password").headers["Location"].endswith("/account")  # nothing pending

    # The old password is gone, the new one works.
    assert sign_in(app.test_client(), alice).status_code == 401
    assert sign_in(app.test_client(), alice, NEW_PASSWORD).status_code == 302


def test_the_held_user_can_sign_out(app, admin, alice, now):
    services.force_password_reset(admin, alice.id, now)
    db.session.commit()
    browser = app.test_client()
    sign_in(browser, alice)
    page = browser.get("/account/new-password").get_data(as_text=True)
    response = browser.post("/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert browser.get("/account/new-password").status_code == 302
    assert "/login" in browser.get("/account/new-password").headers["Location"]


@pytest.mark.parametrize("role", ["rep", "manager", "planner"])
def test_non_admins_get_403_on_the_force_reset_route(app, make_user, login, alice, role):
    client = app.test_client()
    login(client, make_user(role))
    assert client.get(f"/admin/users/{alice.id}/force-reset").status_code == 403
    page = client.get("/account").get_data(as_text=True)
    response = client.post(f"/admin/users/{alice.id}/force-reset", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 403
    assert not fresh(alice).must_change_password
    assert "force-reset" not in client.get("/account").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_login(client, alice):
    response = client.post(f"/admin/users/{alice.id}/force-reset")
    assert response.status_code in (302, 400)  # CSRF or login: either way nothing happens
    assert not fresh(alice).must_change_password


def test_force_reset_needs_its_csrf_token(as_admin, alice):
    assert as_admin.post(f"/admin/users/{alice.id}/force-reset").status_code == 400
    assert not fresh(alice).must_change_password


def test_an_admin_cannot_force_their_own_reset(as_admin, admin):
    page = as_admin.get("/account").get_data(as_text=True)
    response = as_admin.post(f"/admin/users/{admin.id}/force-reset", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    users_page = as_admin.get("/admin/users").get_data(as_text=True)
    assert "Change your own password on your account page instead." in users_page
    assert not fresh(admin).must_change_password
    assert as_admin.get(f"/admin/users/{admin.id}/force-reset").status_code == 302


def test_unknown_user_is_404(as_admin):
    assert as_admin.get("/admin/users/999999/force-reset").status_code == 404


def test_service_checks_the_role_and_the_target(admin, alice, mallory, now):
    with pytest.raises(PermissionDenied):
        services.force_password_reset(mallory, alice.id, now)
    with pytest.raises(NotFound):
        services.force_password_reset(admin, 999999, now)
    with pytest.raises(Conflict):
        services.force_password_reset(admin, admin.id, now)
    assert not alice.must_change_password
    with pytest.raises(Conflict):  # nothing pending: the forced-reset path is not a way around the current password
        services.set_new_password(alice, NEW_PASSWORD, now)


def test_a_new_user_starts_without_a_pending_reset(make_user):
    user = make_user("rep")
    assert db.session.scalar(select(User.must_change_password).where(User.id == user.id)) is False
