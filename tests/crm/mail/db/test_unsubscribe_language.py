"""The unsubscribe page and the unsubscribe footer speak the contact's language (issue #17):
the contact's own, else their owner's; a visitor's switcher still wins on the page."""
from __future__ import annotations

from crm.extensions import db
from crm.mail.models import Mailbox
from crm.mail.outbound.compose import build_wire
from crm.mail.unsubscribe import make_token
from tests.conftest import NOW


def test_the_unsubscribe_page_is_in_the_contacts_language(client, prospect):
    contact, _enrollment, sent = prospect("lucia@aceros-monterrey.mx", "<seq.es1@mail.acme-sales.com>")
    contact.language = "es"
    db.session.commit()
    url = f"/u/{make_token(sent.id)}"

    page = client.get(url, headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert '<html lang="es">' in page and "¿Darte de baja?" in page and "Darse de baja" in page
    switched = client.get(url + "?lang=en").get_data(as_text=True)  # her own choice wins
    assert '<html lang="en">' in switched and "Unsubscribe?" in switched

    client.delete_cookie("crm_lang")
    done = client.post(url).get_data(as_text=True)
    assert "Te diste de baja" in done


def test_without_a_language_the_page_follows_the_visitors_browser(client, prospect):
    _contact, _enrollment, sent = prospect("dana@northwind-traders.com", "<seq.en1@mail.acme-sales.com>")
    url = f"/u/{make_token(sent.id)}"
    assert "¿Darte de baja?" in client.get(url, headers={"Accept-Language": "es-MX"}).get_data(as_text=True)
    assert "Unsubscribe?" in client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    invalid = client.get("/u/not-a-token", headers={"Accept-Language": "es"})
    assert invalid.status_code == 404 and "Este enlace no es válido" in invalid.get_data(as_text=True)


def test_the_footer_of_a_sequence_email_is_in_the_contacts_language(prospect, alice):
    contact, _enrollment, sent = prospect("jorge@cementos-norte.mx", "<seq.es2@mail.acme-sales.com>")
    mailbox = db.session.query(Mailbox).filter_by(user_id=alice.id).one()
    english = build_wire(sent, mailbox, NOW, links=[]).decode()
    assert "Unsubscribe: http" in english

    contact.language = "es"
    db.session.commit()
    spanish = build_wire(sent, mailbox, NOW, links=[]).decode()
    assert "Darse de baja: http" in spanish and "\nUnsubscribe:" not in spanish
