"""The password policy (issue #19): length, zxcvbn's common-password list, no email local part and
zxcvbn's strength estimate (score 3 or more, the user's email and name counted as known words),
with the reasons shown wherever a password is set: account page, admin user form, CLI."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.auth import services
from crm.auth.models import User
from crm.auth.passwords import MIN_ZXCVBN_SCORE, password_problems, password_strength
from crm.demo import catalog
from crm.errors import ValidationFailed
from crm.extensions import db
from tests.conftest import PASSWORD, csrf_from


def password_works(user, password) -> bool:
    db.session.expire_all()  # the pages changed the row in their own sessions
    return services.authenticate(user.email, password) is not None

# (weak password, a reason that must be given, whether zxcvbn's estimate refuses it too). The
# first three fill the length rule and are on no list: only zxcvbn's estimate (repeats, a digit
# sequence) catches them. zxcvbn rates the last one 3, but it is a listed word with a counter.
WEAK = [
    ("aaaaaaaaaaaa", 'Repeats like "aaa" are easy to guess.', True),
    ("123456789012", "This is similar to a commonly used password.", True),
    ("abcabcabcabc", 'Repeats like "abcabcabc" are only slightly harder to guess than "abc".', True),
    ("password1234", "too common", True),
    ("qwertyuiop12", "too common", True),
    ("iloveyou2024", "too common", True),
    ("Summer2024!!", "too common", False),
]


@pytest.mark.parametrize("password, reason, guessable", WEAK)
def test_weak_passwords_are_refused_with_the_reason(password, reason, guessable):
    with pytest.raises(ValidationFailed) as exc:
        services.create_user("jane.doe@acme-sales.com", "rep", password, name="Jane Doe")
    message = exc.value.fields["password"]
    assert reason in message
    assert ("This password is too easy to guess." in message) is guessable
    assert db.session.scalar(select(User.id)) is None


@pytest.mark.parametrize("password", [
    PASSWORD,  # the suite's fixture password
    "lantern orbit cactus 1987",
    "Vq7#rT2m!xLp9w",
    "pump-valve-demo-42",
])
def test_strong_passwords_are_accepted(password):
    assert password_problems(password, services.MIN_PASSWORD_LENGTH, email="jane.doe@acme-sales.com",
                             name="Jane Doe") == []
    assert services.create_user("jane.doe@acme-sales.com", "rep", password).id


@pytest.mark.parametrize("user", catalog.USERS, ids=lambda user: user.key)
def test_the_demo_password_passes_for_every_demo_login(user):
    """The demo seed creates every login with this one password through the same policy."""
    assert password_problems(catalog.DEMO_PASSWORD, services.MIN_PASSWORD_LENGTH,
                             email=user.email, name=user.name) == []


def test_the_users_own_email_and_name_count_as_known_words():
    # Strong for anyone else, guessable for the user whose domain or name it is.
    assert password_strength("acme-sales.com12")[0] >= MIN_ZXCVBN_SCORE
    assert password_strength("acme-sales.com12", email="jane.doe@acme-sales.com")[0] < MIN_ZXCVBN_SCORE
    assert password_strength("Jane Doe 2026")[0] >= MIN_ZXCVBN_SCORE
    assert password_strength("Jane Doe 2026", email="jd@example.com", name="Jane Doe")[0] < MIN_ZXCVBN_SCORE
    with pytest.raises(ValidationFailed):
        services.create_user("jd@example.com", "rep", "Jane Doe 2026", name="Jane Doe")


def test_too_short_and_too_long_are_explained():
    assert password_problems("Vq7#rT2m!", 12)[0] == "The password must be at least 12 characters long."
    # Not scored at all past the limit (zxcvbn's cost grows with length).
    assert password_problems("Vq7#rT2m!xLp9w" * 20, 12) == ["The password must be at most 256 characters long."]


def test_a_long_password_is_scored_on_its_start():
    assert password_problems("lantern orbit cactus 1987 " * 5, 12) == []
    assert "This password is too easy to guess." in password_problems("a" * 100, 12)


def test_the_suite_fixture_password_is_strong_for_the_personas(alice, mallory):
    for user in (alice, mallory):
        assert password_problems(PASSWORD, 12, email=user.email, name=user.name) == []


# --- shown where passwords are set -------------------------------------------------------

def test_account_page_shows_the_reasons(client, alice, login):
    login(client, alice)
    page = client.get("/account").get_data(as_text=True)
    response = client.post("/account", data={
        "csrf_token": csrf_from(page), "current_password": PASSWORD,
        "new_password": "abcabcabcabc", "confirm_password": "abcabcabcabc",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="new_password-error">This password is too easy to guess.' in html
    assert "are only slightly harder to guess than" in html
    assert "Avoid repeated words and characters." in html
    assert password_works(alice, PASSWORD)  # unchanged


def test_admin_user_form_shows_the_reasons(client, admin, login):
    login(client, admin)
    page = client.get("/admin/users/new").get_data(as_text=True)
    response = client.post("/admin/users/new", data={
        "csrf_token": csrf_from(page), "name": "Nina New", "email": "nina@acme-sales.com", "role": "rep",
        "time_zone": "UTC", "password": "123456789012",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="password-error">This password is too easy to guess.' in html
    assert "This is similar to a commonly used password." in html


def test_cli_create_user_shows_the_reasons(app):
    result = app.test_cli_runner().invoke(
        args=["crm", "create-user", "x@acme-sales.com", "--role", "admin", "--password-stdin"],
        input="aaaaaaaaaaaa\n",
    )
    assert result.exit_code != 0
    assert 'Repeats like "aaa" are easy to guess.' in result.output
    assert db.session.scalar(select(User.id)) is None
