"""Who reads which language (issue #17): a user's own language and time zone (account page,
``/api/v1/me``), a visitor's Accept-Language with the switcher, a contact's language on
their form and API, and ``<html lang>`` always saying which."""
from __future__ import annotations

import re

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.extensions import db
from tests.conftest import csrf_from

API = "/api/v1"


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_a_visitor_reads_the_sign_in_page_in_their_browsers_language(client):
    spanish = client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert html_lang(spanish) == "es-MX"
    assert "Iniciar sesión" in spanish and "Contraseña" in spanish and "Sign in" not in spanish
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert html_lang(english) == "en-US" and "Sign in" in english
    other = client.get("/login", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert html_lang(other) == "en"  # a language we do not have: English
    argentina = client.get("/login", headers={"Accept-Language": "es-AR"}).get_data(as_text=True)
    assert html_lang(argentina) == "es" and "Iniciar sesión" in argentina


def test_the_switcher_overrides_the_browser_and_is_remembered(client):
    page = client.get("/login?lang=en", headers={"Accept-Language": "es-MX"})
    assert html_lang(page.get_data(as_text=True)) == "en" and "Sign in" in page.get_data(as_text=True)
    assert "crm_lang=en" in page.headers["Set-Cookie"]
    again = client.get("/login", headers={"Accept-Language": "es-MX"}).get_data(as_text=True)
    assert "Sign in" in again  # the cookie keeps the choice
    switcher = re.search(r'<nav class="language-switcher".*?</nav>', again, re.S).group(0)
    assert "lang=es" in switcher and "Español" in switcher
    assert client.get("/login?lang=xx").headers.get("Set-Cookie") is None  # junk is ignored


def test_a_user_sets_language_time_zone_and_signature_on_the_account_page(client, make_user, login):
    rosa = make_user("rep", name="Rosa Rep", time_zone="UTC")
    login(client, rosa)
    page = client.get("/account").get_data(as_text=True)
    assert 'name="language"' in page and "America/Monterrey" in page
    response = client.post("/account/profile", data={
        "csrf_token": csrf_from(page), "language": "es", "time_zone": "America/Monterrey",
        "signature": "Rosa Rep\nGerente de cuenta"})
    assert response.status_code == 302
    user = db.session.get(User, rosa.id, populate_existing=True)
    assert (user.language, user.time_zone, user.signature) == ("es", "America/Monterrey", "Rosa Rep\nGerente de cuenta")
    after = client.get("/account").get_data(as_text=True)
    assert html_lang(after) == "es" and "Configuración guardada." in after and "Tu cuenta" in after
    # An English browser changes nothing for a signed-in user: their choice wins.
    assert "Tu cuenta" in client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)

    bad = client.post("/account/profile", data={
        "csrf_token": csrf_from(after), "language": "fr", "time_zone": "Mars/Olympus", "signature": ""})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "no es una zona horaria conocida" in body and "uno de en, en-GB, es, es-ES" in body
    assert db.session.get(User, rosa.id, populate_existing=True).language == "es"  # nothing changed


def test_me_api_reads_and_changes_the_users_own_settings(client, make_user, api_token):
    pia = make_user("planner", name="Pia Planner")
    headers = api_token(pia)
    me = client.get(f"{API}/me", headers=headers).get_json()
    assert me["language"] == "en" and me["role"] == "planner" and me["signature"] is None

    changed = client.patch(f"{API}/me", headers=headers, json={"language": "es-ES", "time_zone": "Europe/Madrid",
                                                               "signature": "Pia"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["language"], changed.get_json()["time_zone"]) == ("es-ES", "Europe/Madrid")
    assert client.patch(f"{API}/me", headers=headers, json={"signature": None}).get_json()["signature"] is None

    for body, field in (({"language": "fr"}, "language"), ({"time_zone": "Nowhere/City"}, "time_zone"),
                        ({"language": None}, "language"), ({"signature": "x" * 2001}, "signature"),
                        ({"signature": "a\x00b"}, "signature"), ({"nickname": "p"}, "nickname")):
        refused = client.patch(f"{API}/me", headers=headers, json=body)
        assert refused.status_code == 422, (body, refused.get_json())
        assert field in refused.get_json()["error"]["fields"], refused.get_json()
    assert db.session.get(User, pia.id, populate_existing=True).language == "es-ES"
    # Error texts follow the user's language; the machine code stays.
    error = client.patch(f"{API}/me", headers=headers, json={"time_zone": "Nowhere/City"}).get_json()["error"]
    assert error["code"] == "validation_failed"
    assert client.get(f"{API}/me").status_code == 401


def test_a_contacts_language_is_set_on_the_form_and_in_the_api(client, make_user, login, make_contact, api_token):
    rita = make_user("rep", name="Rita Rep")
    contact = make_contact(email="lucia@aceros-monterrey.mx", owner_id=rita.id, actor=rita)
    login(client, rita)
    form = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert 'name="language"' in form and "Español (México)" in form
    data = {"csrf_token": csrf_from(form), "email": contact.email, "first_name": "Lucía", "last_name": "Garza",
            "language": "es", "lifecycle_stage": "lead", "owner_id": str(rita.id)}
    assert client.post(f"/contacts/{contact.id}/edit", data=data).status_code == 302
    assert db.session.get(Contact, contact.id, populate_existing=True).language == "es"

    headers = api_token(rita)
    assert client.get(f"{API}/contacts/{contact.id}", headers=headers).get_json()["language"] == "es"
    assert client.patch(f"{API}/contacts/{contact.id}", headers=headers,
                        json={"language": "en-GB"}).get_json()["language"] == "en-GB"
    refused = client.patch(f"{API}/contacts/{contact.id}", headers=headers, json={"language": "klingon"})
    assert refused.status_code == 422 and "language" in refused.get_json()["error"]["fields"]


def test_roles_and_times_read_in_the_viewers_language_and_zone(client, make_user, login):
    rosa = make_user("rep", name="Rosa Rep", time_zone="America/Monterrey")
    rosa.language = "es"
    db.session.commit()
    login(client, rosa)
    home = client.get("/account").get_data(as_text=True)
    assert "Vendedor" in home or "vendedor" in home.lower()
