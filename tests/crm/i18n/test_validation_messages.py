"""Field errors read in the reader's language (issue #17): pydantic's own messages (English
only) are read per error type with their figures, the kernel's validators and email-validator's
sentences are translated, and the forms' validators too."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from crm.extensions import db
from crm.i18n import force_language
from crm.validation import InvalidEmail, check_web_url, field_errors, normalize_email
from tests.conftest import NOW, csrf_from
from tests.crm.api.conftest import ApiClient, error_of


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=5)
    tags: list[str] = Field(default=[], max_length=2)
    count: int = Field(default=1, ge=1, le=10)
    price: Decimal = Field(default=Decimal(1), max_digits=5, decimal_places=2)
    ratio: float = Field(default=0.5, gt=0, lt=1)
    active: bool = True
    day: date | None = None
    status: Literal["open", "won", "lost"] = "open"
    site: HttpUrl | None = None
    note: str = ""

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        if value == "custom":
            raise PydanticCustomError("note_rule", "a feature's own message")
        return value


def _errors(data: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    return field_errors(caught.value)[0]


BAD = {"name": "x", "tags": ["a", "b", "c"], "count": "many", "price": "1234.5", "ratio": 1, "active": "maybe",
       "day": "2026-13-01", "status": "pending", "site": "ftp://example.com", "colour": "red"}


def test_pydantics_messages_read_in_english_by_type(app):
    with force_language("en"):
        assert _errors(BAD) == {
            "name": "at least 2 characters", "tags": "at most 2 items", "count": "a whole number",
            "price": "at most 3 digits before the decimal point", "ratio": "a number below 1",
            "active": "true or false", "day": "a date YYYY-MM-DD", "status": "one of open, won, lost",
            "site": "an address starting with http://, https://", "colour": "not a known field"}
        assert _errors({"name": "abcdef", "count": 0, "price": "1.234", "ratio": 0})["name"] == "at most 5 characters"
        more = _errors({"name": "abcdef", "count": 0, "price": "1.234", "ratio": 0, "tags": "x"})
        assert more == {"name": "at most 5 characters", "count": "a number of 1 or more", "price": "at most 2 decimals",
                        "ratio": "a number above 0", "tags": "a list"}
        assert _errors({"name": 5}) == {"name": "text"}
        assert _errors({}) == {"name": "required"}
        assert _errors({"name": "ok", "note": "custom"}) == {"note": "a feature's own message"}


def test_pydantics_messages_read_in_spanish_by_type(app):
    with force_language("es-MX"):
        assert _errors(BAD) == {
            "name": "al menos 2 caracteres", "tags": "como máximo 2 elementos", "count": "un número entero",
            "price": "como máximo 3 dígitos antes del punto decimal", "ratio": "un número menor que 1",
            "active": "verdadero o falso", "day": "una fecha AAAA-MM-DD", "status": "uno de open, won, lost",
            "site": "una dirección que empiece con http://, https://", "colour": "no es un campo conocido"}
        assert _errors({}) == {"name": "obligatorio"}
        assert _errors({"name": "ok", "count": 11, "price": "1.234"}) == {
            "count": "un número de 10 o menos", "price": "como máximo 2 decimales"}


def test_the_kernels_web_address_check_speaks_the_readers_language(app):
    for value, english, spanish in (
        ("javascript:alert(1)", "only http:// and https:// addresses", "solo direcciones http:// y https://"),
        ("https://", "needs a host name, as in https://example.com/...",
         "necesita un nombre de host, como en https://example.com/..."),
        ("https://me:secret@example.com", "must not contain a user name or password",
         "no debe contener un usuario ni una contraseña"),
        ("https://exa mple.com", "must not contain spaces, backslashes or control characters",
         "no debe contener espacios, barras invertidas ni caracteres de control"),
    ):
        for language, expected in (("en", english), ("es", spanish)):
            with force_language(language), pytest.raises(ValueError) as caught:
                check_web_url(value)
            assert str(caught.value) == expected


@pytest.mark.parametrize(("address", "english", "spanish"), [
    ("not-an-email", "an email address needs an @ (name@example.com)",
     "un correo electrónico necesita una @ (nombre@example.com)"),
    ("@example.com", "nothing before the @", "no hay nada antes de la @"),
    ("a..b@example.com", "a dot in the wrong place (at the start or the end, next to the @, or two in a row)",
     "un punto en un lugar incorrecto (al inicio o al final, junto a la @ o dos seguidos)"),
    ("ana@localhost", "the part after the @ is not a domain such as example.com",
     "lo que sigue a la @ no es un dominio como example.com"),
    ("two@@example.com", "contains characters an email address cannot have: '@'",
     "contiene caracteres que un correo electrónico no puede tener: '@'"),
    ("ana@example.local", "a reserved domain that cannot receive email",
     "un dominio reservado que no puede recibir correo"),
    ("", "email is required", "el correo electrónico es obligatorio"),
])
def test_email_validators_sentences_become_translated_reasons(app, address, english, spanish):
    for language, expected in (("en", english), ("es", spanish)):
        with force_language(language), pytest.raises(InvalidEmail) as caught:
            normalize_email(address)
        assert str(caught.value) == expected
    if address:
        assert "@-sign" in caught.value.detail or "period" in caught.value.detail or "reserved" in caught.value.detail


@pytest.fixture
def api(client, api_token):
    return lambda user: ApiClient(client, api_token(user))


def test_the_api_answers_field_errors_in_the_users_language(api, alice):
    query = "/deals?status=pending&page=abc&owner_id=0&colour=red&q=" + "x" * 201
    english = error_of(api(alice).get(query))["fields"]
    assert english == {"status": "one of open, won, lost", "page": "a whole number",
                       "owner_id": "a number of 1 or more", "colour": "not a known field",
                       "q": "at most 200 characters"}
    error = error_of(api(alice).post("/contacts", json={"email": "not-an-email",
                                                        "linkedin_url": "javascript:alert(1)"}))
    assert error["message"] == "invalid contact"
    body = error["fields"]
    assert body["email"] == "an email address needs an @ (name@example.com)"
    assert body["linkedin_url"] == "must be an http(s) URL: only http:// and https:// addresses"
    alice.language = "es"
    db.session.commit()
    spanish = error_of(api(alice).get(query))["fields"]
    assert spanish == {"status": "uno de open, won, lost", "page": "un número entero",
                       "owner_id": "un número de 1 o más", "colour": "no es un campo conocido",
                       "q": "como máximo 200 caracteres"}
    error = error_of(api(alice).post("/contacts", json={"email": "not-an-email",
                                                        "linkedin_url": "javascript:alert(1)"}))
    assert error["message"] == "contacto no válido"  # the input model's summary, translated too
    body = error["fields"]
    assert body["email"] == "un correo electrónico necesita una @ (nombre@example.com)"
    assert body["linkedin_url"] == "debe ser una URL http(s): solo direcciones http:// y https://"
    assert error_of(api(alice).post("/contacts", data="[]", content_type="application/json"))["fields"] == {
        "body": "un objeto"}


def test_an_anonymous_caller_reads_its_accept_language(client, intro_slug_for_errors):
    response = client.get(f"/api/v1/booking/{intro_slug_for_errors}/slots?tz=localtime",
                          headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["tz"] == (
        "no es una zona horaria conocida: un nombre IANA como Europe/Berlin, o UTC")
    response = client.get(f"/api/v1/booking/{intro_slug_for_errors}/slots?tz=localtime",
                          headers={"Accept-Language": "en-US"})
    assert response.get_json()["error"]["fields"]["tz"] == (
        "not a known time zone: an IANA name such as Europe/Berlin, or UTC")


@pytest.fixture
def intro_slug_for_errors(make_user):
    from crm.meetings.services import create_meeting_type

    rep = make_user("rep")
    meeting_type = create_meeting_type(rep, {
        "name": "Intro", "slug": "intro-errors", "duration_minutes": 30, "time_zone": "Europe/Berlin",
        "weekly_hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}]}, NOW)
    db.session.commit()
    return meeting_type.slug


def test_page_forms_show_their_validators_messages_in_the_users_language(client, login, make_user):
    rep = make_user("rep")
    rep.language = "es"
    db.session.commit()
    login(client, rep)
    page = client.get("/meetings/types/new").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "name": "", "slug": "demo-es", "duration_minutes": "1",
            "time_zone": "localtime", "hours_0": "09:00-12:00", "location_kind": "video",
            "location_value": "javascript:alert(1)", "is_active": "y"}
    html = client.post("/meetings/types/new", data=form).get_data(as_text=True)
    assert "Este campo es obligatorio." in html  # WTForms' own message, in Spanish
    assert "El número debe estar entre 5 y 720." in html
    assert "no es una zona horaria conocida: un nombre IANA como Europe/Berlin, o UTC" in html
    assert "el enlace de video: solo direcciones http:// y https://" in html
    assert "This field is required" not in html and "not a known time zone" not in html
