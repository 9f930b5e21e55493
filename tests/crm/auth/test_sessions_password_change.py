"""Changing a password (issue #19) ends every other session of the user and revokes every API
token; the session that made the change stays signed in under a new secret."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.auth import services
from crm.auth.models import ApiToken, UserSession
from crm.errors import ValidationFailed
from crm.extensions import db
from tests.conftest import NOW, PASSWORD, csrf_from

NEW_PASSWORD = "lantern orbit cactus 1987"


def password_works(user, password) -> bool:
    db.session.expire_all()  # the pages changed the row in their own sessions
    return services.authenticate(user.email, password) is not None


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    page = client.get("/account").get_data(as_text=True)
    return client.post("/account", data={
        "csrf_token": csrf_from(page), "current_password": current,
        "new_password": new, "confirm_password": new if confirm is None else confirm,
    })


def signed_in(client) -> bool:
    return client.get("/contacts").status_code == 200


def test_other_sessions_are_signed_out_and_this_one_stays(app, alice, login):
    laptop, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    for browser in (laptop, phone, tablet):
        login(browser, alice)
    assert signed_in(phone) and signed_in(tablet)

    response = change(laptop)
    assert response.status_code == 302
    page = laptop.get(response.headers["Location"]).get_data(as_text=True)
    assert "Password changed. 2 other sessions were signed out. You had no API tokens." in page
    assert signed_in(laptop)
    assert not signed_in(phone) and not signed_in(tablet)  # back to the login page
    assert password_works(alice, NEW_PASSWORD)
    assert not password_works(alice, PASSWORD)


def test_one_other_session_is_said_in_the_singular(app, alice, login):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, alice)
    login(phone, alice)
    page = laptop.get(change(laptop).headers["Location"]).get_data(as_text=True)
    assert "1 other session was signed out." in page


def test_api_tokens_are_revoked_and_the_page_says_so(app, client, alice, bob, login, api_token):
    alice_headers = [api_token(alice), api_token(alice)]
    bob_headers = api_token(bob)
    login(client, alice)
    page = client.get(change(client).headers["Location"]).get_data(as_text=True)
    assert "No other session was signed in." in page
    assert "All 2 of your API tokens were revoked; create new ones for your scripts." in page
    for headers in alice_headers:
        assert app.test_client().get("/api/v1/contacts", headers=headers).status_code == 401
    assert app.test_client().get("/api/v1/contacts", headers=bob_headers).status_code == 200
    assert db.session.scalars(select(ApiToken.revoked_at).where(ApiToken.user_id == alice.id)).all() == [NOW, NOW]


def test_the_session_is_rekeyed_so_a_copied_cookie_dies(app, client, alice, login):
    login(client, alice)
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    assert signed_in(copied)
    before = db.session.scalars(select(UserSession)).one()

    change(client)
    assert signed_in(client)
    assert not signed_in(copied)  # the cookie from before the change names the old secret
    db.session.expire_all()
    old, new = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()
    assert old.id == before.id and old.revoked_at == NOW
    assert new.revoked_at is None and new.expires_at == before.expires_at and new.created_at == NOW


def test_a_remembered_login_stays_remembered_under_the_new_secret(app, client, alice, clock):
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": alice.email, "password": PASSWORD, "remember": "y",
                                "csrf_token": csrf_from(page)})
    old_remember = client.get_cookie("remember_token").value
    clock.advance(timedelta(days=1))

    change(client)
    new_remember = client.get_cookie("remember_token")
    assert new_remember.value != old_remember
    # Only the remember-me cookie: a browser restarted after the change.
    restarted = app.test_client()
    restarted.set_cookie("remember_token", new_remember.value)
    assert signed_in(restarted)
    stale = app.test_client()
    stale.set_cookie("remember_token", old_remember)
    assert not signed_in(stale)
    # The new session keeps the remembered login's original end, seven days after signing in.
    live = db.session.scalars(select(UserSession).where(UserSession.revoked_at.is_(None))).one()
    assert live.expires_at == NOW + timedelta(days=7)


def test_a_wrong_current_password_changes_nothing(app, client, alice, login, api_token):
    headers = api_token(alice)
    other = app.test_client()
    login(other, alice)
    login(client, alice)
    response = change(client, current="not my password at all")
    assert response.status_code == 422
    assert 'id="current_password-error">Wrong password.' in response.get_data(as_text=True)
    assert signed_in(other)
    assert app.test_client().get("/api/v1/contacts", headers=headers).status_code == 200
    assert password_works(alice, PASSWORD)


def test_the_new_password_must_differ_and_be_typed_twice_alike(client, alice, login):
    login(client, alice)
    response = change(client, new=PASSWORD)
    assert response.status_code == 422
    assert "The new password must be different from the current one." in response.get_data(as_text=True)
    response = change(client, confirm=NEW_PASSWORD + "x")
    assert response.status_code == 422
    assert "The two new passwords are not the same." in response.get_data(as_text=True)
    assert password_works(alice, PASSWORD)


def test_the_change_needs_its_csrf_token(client, alice, login):
    login(client, alice)
    response = client.post("/account", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                             "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400
    assert password_works(alice, PASSWORD)


# --- the service ----------------------------------------------------------------------------

def test_service_reports_what_it_ended_and_keeps_only_the_given_session(alice, bob, now):
    keep = services.start_session(alice, now, timedelta(hours=12))
    services.start_session(alice, now, timedelta(hours=12))
    services.start_session(alice, now - timedelta(days=1), timedelta(hours=1))  # expired: not counted
    bobs = services.start_session(bob, now, timedelta(hours=12))
    services.create_api_token(alice, "ci", now)
    db.session.commit()

    report = services.change_password(alice, PASSWORD, NEW_PASSWORD, now, session_secret=keep)
    db.session.commit()
    assert (report.sessions_ended, report.tokens_revoked) == (1, 1)
    assert services.user_for_session(keep, now) is None  # re-keyed...
    assert services.user_for_session(report.session_secret, now).id == alice.id  # ...to this
    assert services.user_for_session(bobs, now).id == bob.id
    assert services.live_session_count(alice, now) == 1


def test_service_without_a_session_ends_them_all(alice, now):
    services.start_session(alice, now, timedelta(hours=12))
    report = services.change_password(alice, PASSWORD, NEW_PASSWORD, now)
    assert (report.sessions_ended, report.session_secret) == (1, None)
    assert services.live_session_count(alice, now) == 0


def test_service_refuses_a_weak_password_with_reasons_on_the_new_password(alice, now):
    with pytest.raises(ValidationFailed) as exc:
        services.change_password(alice, PASSWORD, "qwertyuiop12", now)
    assert "too common" in exc.value.fields["new_password"]
