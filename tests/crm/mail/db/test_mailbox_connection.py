"""A rep connects their mailbox (IMAP) on the account page and through ``/api/v1/me/mailbox``:
the password is stored encrypted and never returned; "test connection" shows the server's own
answer (tried against the session's Dovecot); the keys rotate; a password no key opens asks
for the password again."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from crm.extensions import db
from crm.mail.credentials import BadCredentialsKey, decrypt, derived_key, encrypt
from crm.mail.imap_accounts import rotate_credentials
from crm.mail.models import ImapAccount, MailboxCursor, mailbox_for
from tests.conftest import NOW, csrf_from
from tests.imapservers import PASSWORD, USER

API = "/api/v1/me/mailbox"


def settings(port: int, **changes) -> dict:
    values = {"host": "127.0.0.1", "port": port, "security": "none", "username": USER, "password": PASSWORD,
              "folders": ["INBOX"]}
    values.update(changes)
    return values


def stored() -> ImapAccount | None:
    return db.session.scalar(select(ImapAccount).execution_options(populate_existing=True))


# --- API --------------------------------------------------------------------------------------------

def test_connect_read_change_and_disconnect_through_the_api(client, alice, api_token, dovecot):
    headers = api_token(alice)
    assert client.get(API, headers=headers).get_json() == {
        "connected": False, "host": None, "port": None, "security": None, "username": None, "folders": [],
        "password_stored": False, "status": None, "last_error": None, "last_polled_at": None, "last_ok_at": None}

    saved = client.put(API, json=settings(dovecot), headers=headers)

    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["connected"] and body["password_stored"] and body["status"] == "untested"
    assert PASSWORD not in saved.get_data(as_text=True) and "password" not in body
    account = stored()
    assert PASSWORD not in account.password_encrypted and decrypt(account.password_encrypted) == PASSWORD
    assert client.get(API, headers=headers).get_json()["host"] == "127.0.0.1"

    # a change without the password keeps the stored one
    changed = client.put(API, json=settings(dovecot, password=None, folders=["INBOX", "Archive"]), headers=headers)
    assert changed.status_code == 200 and changed.get_json()["folders"] == ["INBOX", "Archive"]
    assert decrypt(stored().password_encrypted) == PASSWORD

    assert client.delete(API, headers=headers).get_json()["connected"] is False
    assert stored() is None
    assert client.delete(API, headers=headers).status_code == 404


def test_the_api_tests_a_connection_with_the_servers_answer(client, alice, api_token, dovecot):
    headers = api_token(alice)
    tried = client.post(f"{API}/test", json=settings(dovecot), headers=headers).get_json()
    assert tried["ok"] is True and tried["folders"][0] == "INBOX"
    assert tried["message"] == f"Logged in to 127.0.0.1:{dovecot} as {USER}; {len(tried['folders'])} folders."
    assert stored() is None  # trying saves nothing

    refused = client.post(f"{API}/test", json=settings(dovecot, password="wrong"), headers=headers).get_json()
    assert refused["ok"] is False
    assert refused["message"].startswith("the server said: [AUTHENTICATIONFAILED]")  # Dovecot's own words

    client.put(API, json=settings(dovecot), headers=headers)
    assert client.post(f"{API}/test", json={}, headers=headers).get_json()["ok"] is True  # the stored settings


@pytest.mark.parametrize("changes, field", [
    ({"host": "imap.example.com"}, "security"),  # no TLS across the network
    ({"host": ""}, "host"),
    ({"host": "imap example.com"}, "host"),
    ({"port": 70000}, "port"),
    ({"security": "tls13"}, "security"),
    ({"folders": []}, "folders"),
    ({"username": "bob\x00"}, "username"),
])
def test_bad_settings_are_refused_by_field(client, alice, api_token, changes, field):
    response = client.put(API, json={**settings(143), **changes}, headers=api_token(alice))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"], response.get_json()
    assert stored() is None


def test_a_first_connection_needs_a_password(client, alice, api_token):
    response = client.put(API, json=settings(143, password=None), headers=api_token(alice))
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {
        "password": "required to connect a mailbox"}


def test_only_sales_users_have_a_mailbox(client, pat, api_token):
    assert client.get(API).status_code == 401
    assert client.get(API, headers=api_token(pat)).status_code == 403


def test_each_rep_sees_only_their_own_mailbox(client, alice, bob, api_token, dovecot):
    client.put(API, json=settings(dovecot), headers=api_token(alice))
    assert client.get(API, headers=api_token(bob)).get_json()["connected"] is False
    assert client.delete(API, headers=api_token(bob)).status_code == 404
    assert stored() is not None


# --- the account page ----------------------------------------------------------------------------------

def test_the_account_page_leads_to_the_mailbox_section(client, alice, login):
    login(client, alice)
    assert 'href="/account/mailbox"' in client.get("/account").get_data(as_text=True)
    page = client.get("/account/mailbox")
    assert page.status_code == 200 and "Connect your mailbox" in page.get_data(as_text=True)


def form_data(page_html: str, port: int, **changes) -> dict:
    data = {"csrf_token": csrf_from(page_html), "host": "127.0.0.1", "security": "none", "port": str(port),
            "username": USER, "password": PASSWORD, "folders": "INBOX"}
    data.update(changes)
    return data


def test_test_connection_on_the_page_shows_the_answer_and_saves_nothing(client, alice, login, dovecot):
    login(client, alice)
    html = client.get("/account/mailbox").get_data(as_text=True)

    tried = client.post("/account/mailbox", data=form_data(html, dovecot, action="test"))

    text = tried.get_data(as_text=True)
    assert tried.status_code == 200 and "Connection works." in text and f"as {USER}" in text
    assert stored() is None
    refused = client.post("/account/mailbox", data=form_data(html, dovecot, action="test", password="wrong"))
    assert "Connection failed." in refused.get_data(as_text=True)
    assert "AUTHENTICATIONFAILED" in refused.get_data(as_text=True)


def test_saving_on_the_page_stores_the_password_encrypted_and_never_shows_it(client, alice, login, dovecot):
    login(client, alice)
    html = client.get("/account/mailbox").get_data(as_text=True)

    saved = client.post("/account/mailbox", data=form_data(html, dovecot, action="save", folders="INBOX\nArchive"))

    assert saved.status_code == 302
    account = stored()
    assert account.folders == ["INBOX", "Archive"] and decrypt(account.password_encrypted) == PASSWORD
    page = client.get("/account/mailbox").get_data(as_text=True)
    assert "Not read yet" in page and PASSWORD not in page and account.password_encrypted not in page

    disconnected = client.post("/account/mailbox/disconnect", data={"csrf_token": csrf_from(page)})
    assert disconnected.status_code == 302 and stored() is None


def test_bad_settings_on_the_page_are_shown_by_field(client, alice, login):
    login(client, alice)
    html = client.get("/account/mailbox").get_data(as_text=True)
    response = client.post("/account/mailbox", data=form_data(html, 143, action="save", host="imap.example.com"))
    assert response.status_code == 422
    assert "allowed only for a server on this machine" in response.get_data(as_text=True)
    assert stored() is None
    assert client.post("/account/mailbox", data={"host": "x", "action": "save"}).status_code == 400  # no CSRF token


def test_a_planner_has_no_mailbox_page(client, pat, login):
    login(client, pat)
    assert client.get("/account/mailbox").status_code == 403
    assert "/account/mailbox" not in client.get("/account").get_data(as_text=True)


# --- keys ------------------------------------------------------------------------------------------------

@pytest.fixture
def credentials_key(app):
    saved = app.config["MAIL_CREDENTIALS_KEY"], app.config["SECRET_KEY"]
    yield app.config
    app.config["MAIL_CREDENTIALS_KEY"], app.config["SECRET_KEY"] = saved


def test_without_a_key_the_password_is_encrypted_with_one_derived_from_secret_key(credentials_key):
    credentials_key["MAIL_CREDENTIALS_KEY"] = None
    token = encrypt("app-password-1")
    assert Fernet(derived_key(credentials_key["SECRET_KEY"])).decrypt(token.encode()) == b"app-password-1"


def test_rotating_to_a_new_key_keeps_every_password_readable(alice, credentials_key):
    credentials_key["MAIL_CREDENTIALS_KEY"] = None
    account = ImapAccount(mailbox_id=mailbox_for(alice).id, host="imap.example.com", port=993, security="ssl",
                          username="alice", password_encrypted=encrypt("app-password-1"), folders=["INBOX"])
    db.session.add(account)
    db.session.commit()
    new_key = Fernet.generate_key()
    credentials_key["MAIL_CREDENTIALS_KEY"] = new_key.decode()
    assert decrypt(account.password_encrypted) == "app-password-1"  # the derived key still reads the old one

    assert rotate_credentials(NOW).rotated == 1
    db.session.commit()

    assert Fernet(new_key).decrypt(stored().password_encrypted.encode()) == b"app-password-1"
    credentials_key["SECRET_KEY"] = "a-new-secret-key"  # the derived key changes; the set key still reads it
    assert decrypt(stored().password_encrypted) == "app-password-1"


def test_a_password_no_key_opens_asks_for_the_password_again(client, alice, api_token, credentials_key, dovecot):
    headers = api_token(alice)
    client.put(API, json=settings(dovecot), headers=headers)
    credentials_key["SECRET_KEY"] = "the-secret-key-changed"  # and no MAIL_CREDENTIALS_KEY was set

    report = rotate_credentials(NOW)
    db.session.commit()

    assert report.unreadable == 1 and stored().status == "unreadable_password"
    headers = api_token(alice)  # API tokens are signed by the new secret too
    assert client.get(API, headers=headers).get_json()["status"] == "unreadable_password"
    kept = client.put(API, json=settings(dovecot, password=None), headers=headers)
    assert kept.status_code == 422 and "enter it again" in kept.get_json()["error"]["fields"]["password"]
    fixed = client.put(API, json=settings(dovecot), headers=headers)
    assert fixed.status_code == 200 and fixed.get_json()["status"] == "untested"
    assert decrypt(stored().password_encrypted) == PASSWORD


def test_a_malformed_key_is_refused_with_its_name(credentials_key):
    credentials_key["MAIL_CREDENTIALS_KEY"] = "not-a-fernet-key"
    with pytest.raises(BadCredentialsKey, match="MAIL_CREDENTIALS_KEY"):
        encrypt("x")


def test_changing_the_folders_keeps_the_cursors_of_the_folders_kept(client, alice, api_token, dovecot):
    headers = api_token(alice)
    client.put(API, json=settings(dovecot, folders=["INBOX", "Bounces"]), headers=headers)
    mailbox_id = stored().mailbox_id
    db.session.add_all([MailboxCursor(mailbox_id=mailbox_id, folder="INBOX", uidvalidity=7, last_uid=40),
                        MailboxCursor(mailbox_id=mailbox_id, folder="Bounces", uidvalidity=7, last_uid=3)])
    db.session.commit()
    client.put(API, json=settings(dovecot, password=None, folders=["INBOX"]), headers=headers)
    assert db.session.scalars(select(MailboxCursor.folder)).all() == ["INBOX"]
