"""Out-of-office replies in the seven languages of our users and prospects (English, Spanish,
Portuguese, French, German, Italian, Dutch): by header, by subject, and by body wording next to
a weak machine signal; the same wording from a person stays a reply."""
from __future__ import annotations

from datetime import date

import pytest

from crm.mail.inbound import classify_message
from tests.crm.mail.mailfactory import OWN, RECEIVED, build

# (language, an auto-responder's subject, the body of an absence notice back on 3 December)
NOTICES = [
    ("en", "Out of Office: Quick question", "I am out of the office until 3 December with limited access to email."),
    ("es", "Respuesta automática: Quick question", "Estoy fuera de la oficina hasta el 3 de diciembre. "
                                                   "Para temas urgentes escriba a ventas@globex-industries.com."),
    ("pt", "Resposta automática: Quick question", "Estou ausente do escritório até 3 de dezembro, de férias."),
    ("fr", "Réponse automatique : Quick question", "Je suis absent du bureau jusqu'au 3 décembre."),
    ("de", "Abwesenheitsnotiz: Quick question", "Ich bin bis zum 3. Dezember nicht im Büro."),
    ("it", "Risposta automatica: Quick question", "Sono fuori ufficio fino al 3 dicembre."),
    ("nl", "Automatisch antwoord: Quick question", "Ik ben afwezig tot 3 december, met vakantie."),
]
LANGUAGES = [n[0] for n in NOTICES]


def classify(raw: bytes):
    return classify_message(raw, own_addresses=OWN, now=RECEIVED)


@pytest.mark.parametrize("language, subject, body", NOTICES, ids=LANGUAGES)
def test_auto_responder_subject_alone(language, subject, body):
    assert classify(build("Thank you for your message.", subject=subject)).classification == "auto_reply"


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied"}, {"X_Autoreply": "yes"}, {"Precedence": "auto_reply"},
], ids=["Auto-Submitted", "X-Autoreply", "Precedence"])
@pytest.mark.parametrize("language, subject, body", NOTICES, ids=LANGUAGES)
def test_auto_reply_headers_with_a_plain_subject(language, subject, body, headers):
    result = classify(build(body, subject="Re: Quick question", **headers))
    assert result.classification == "auto_reply"


@pytest.mark.parametrize("weak", [
    {"X_Auto_Response_Suppress": "All"}, {"Return_Path": "<>"}, {"Auto_Submitted": "auto-generated"},
], ids=["X-Auto-Response-Suppress", "null Return-Path", "Auto-Submitted auto-generated"])
@pytest.mark.parametrize("language, subject, body", NOTICES, ids=LANGUAGES)
def test_absence_wording_confirms_a_weak_machine_signal(language, subject, body, weak):
    result = classify(build(body, subject="Quick question", **weak))
    assert result.classification == "auto_reply", result.reasons


@pytest.mark.parametrize("language, subject, body", NOTICES, ids=LANGUAGES)
def test_the_same_wording_from_a_person_is_a_reply(language, subject, body):
    """Body wording alone is never an auto-reply: people write "I'm away until..." too."""
    assert classify(build(body + "\n\nBut yes, let's talk.", subject="Re: Quick question")).classification == "reply"


@pytest.mark.parametrize("language, subject, body", NOTICES, ids=LANGUAGES)
def test_the_return_date_is_read_in_each_language(language, subject, body):
    result = classify(build(body, subject=subject))
    assert result.return_date in (date(2026, 12, 3), date(2026, 12, 4)), result.reasons
