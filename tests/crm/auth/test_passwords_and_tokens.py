import hashlib

import pytest
from sqlalchemy import select

from crm.auth import services
from crm.auth.models import ApiToken, User
from crm.errors import Conflict, ValidationFailed
from crm.extensions import db
from tests.conftest import NOW, PASSWORD


def test_password_is_stored_as_argon2id(make_user):
    user = make_user("rep")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize("password, problem", [
    ("short1!", "at least 12"),
    ("password1234", "too common"),
    ("qwertyuiop123", "too common"),
    ("jane.doe-secret-2024", "email address"),
])
def test_weak_passwords_are_refused(password, problem):
    with pytest.raises(ValidationFailed) as exc:
        services.create_user("jane.doe@acme-sales.com", "rep", password)
    assert problem in exc.value.fields["password"]


def test_user_email_is_normalised_and_unique(make_user):
    make_user("rep", email="Sam.Smith@Acme-Sales.com")
    assert db.session.scalar(select(User.email)) == "sam.smith@acme-sales.com"
    with pytest.raises(Conflict):
        services.create_user("SAM.smith@acme-sales.com ", "rep", PASSWORD)


def test_unknown_role_and_time_zone_are_reported_together():
    with pytest.raises(ValidationFailed) as exc:
        services.create_user("x@acme-sales.com", "boss", PASSWORD, time_zone="Mars/Olympus")
    assert set(exc.value.fields) == {"role", "time_zone"}


def test_a_rep_manager_must_be_a_manager(alice):
    with pytest.raises(ValidationFailed) as exc:
        services.create_user("y@acme-sales.com", "rep", PASSWORD, manager_id=alice.id)
    assert "manager_id" in exc.value.fields


def test_api_token_is_stored_hashed_and_shown_once(alice):
    token, secret = services.create_api_token(alice, "laptop", NOW)
    db.session.commit()
    stored = db.session.get(ApiToken, token.id)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (stored.token_hash, stored.prefix)
    assert services.user_for_api_token(secret, NOW).id == alice.id


def test_revoked_token_stops_working(alice):
    token, secret = services.create_api_token(alice, "laptop", NOW)
    services.revoke_api_token(alice, token.id, NOW)
    db.session.commit()
    assert services.user_for_api_token(secret, NOW) is None


def test_someone_elses_token_cannot_be_revoked(alice, bob):
    token, _ = services.create_api_token(alice, "laptop", NOW)
    with pytest.raises(Exception) as exc:
        services.revoke_api_token(bob, token.id, NOW)
    assert exc.value.status == 403


def test_deactivated_user_cannot_log_in_or_use_tokens(alice):
    _token, secret = services.create_api_token(alice, "x", NOW)
    alice.is_active = False
    db.session.commit()
    assert services.authenticate(alice.email, PASSWORD) is None
    assert services.user_for_api_token(secret, NOW) is None


def test_tokens_page_shows_the_secret_once(client, alice, login):
    from tests.conftest import csrf_from

    login(client, alice)
    page = client.get("/account/tokens").get_data(as_text=True)
    response = client.post("/account/tokens", data={"name": "script", "csrf_token": csrf_from(page)})
    html = response.get_data(as_text=True)
    assert "shown only once" in html
    secret = html.split('id="new-token">')[1].split("<")[0]
    assert services.user_for_api_token(secret, NOW).id == alice.id
    assert secret not in client.get("/account/tokens").get_data(as_text=True)
