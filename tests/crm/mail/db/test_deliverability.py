"""Deliverability (issue 24): optional DKIM signing verified with dkimpy against the key's
public half, as a receiving server would; startup checks and warnings; the signature's line
breaks kept in the HTML part."""
from __future__ import annotations

import logging
from pathlib import Path

import dkim
import pytest

from config import ConfigError, TestConfig
from crm.extensions import db
from crm.mail.deliverability import init, warnings_for
from crm.mail.models import mailbox_for
from crm.mail.outbound import dkim as crm_dkim
from crm.mail.outbound.sender import send_due
from tests.conftest import NOW

KEYS = Path(__file__).resolve().parents[3] / "fixtures" / "dkim"
PUBLIC = (KEYS / "test-public.b64").read_text().strip()


def _dns(expected_name: bytes):
    """A resolver that knows one TXT record: the one the README tells operators to publish."""
    def lookup(name, timeout=5):
        return f"v=DKIM1; k=rsa; p={PUBLIC}".encode() if name == expected_name else None
    return lookup


@pytest.fixture
def dkim_on(app):
    saved = {k: app.config.get(k) for k in ("MAIL_DKIM_KEY_PATH", "MAIL_DKIM_SELECTOR", "MAIL_DKIM_DOMAIN")}
    app.config.update(MAIL_DKIM_KEY_PATH=str(KEYS / "test-private.pem"), MAIL_DKIM_SELECTOR="crm2026",
                      MAIL_DKIM_DOMAIN="acme-sales.com")
    yield
    app.config.update(saved)


def test_sequence_emails_and_invites_are_signed_and_verify(app, dkim_on, smtp_sink, queue, alice, make_contact):
    from crm.mail.outbound.outbox import enqueue_invite

    mailbox = mailbox_for(alice)
    mailbox.from_address = "alice@acme-sales.com"
    db.session.commit()
    contact = make_contact(email="dana@globex-industries.com")
    queue(alice, contact, html_body="<p>Hello Dana</p>")
    enqueue_invite(sender=alice, contact=contact, to_address=contact.email, subject="Invitation: Intro",
                   text_body="Invitation", calendar_ics="BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
                   method="REQUEST", now=NOW)
    db.session.commit()

    assert send_due(NOW).sent == 2

    for received in smtp_sink.wait_for(2):
        assert received.raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=acme-sales.com;")
        assert dkim.verify(received.raw, dnsfunc=_dns(b"crm2026._domainkey.acme-sales.com."))
        signed = received.message["DKIM-Signature"].replace("\r\n", "").replace(" ", "")
        assert "from:to:subject:date:message-id" in signed.lower()
        # Tampering breaks it: what a receiving server checks really is what we signed.
        assert not dkim.verify(received.raw.replace(b"Subject: ", b"Subject: Re: ", 1),
                               dnsfunc=_dns(b"crm2026._domainkey.acme-sales.com."))
    sequence = next(r for r in smtp_sink.messages if r.message["List-Unsubscribe"])
    signed = sequence.message["DKIM-Signature"].replace("\r\n", "").replace(" ", "").lower()
    assert "list-unsubscribe:list-unsubscribe-post" in signed  # RFC 8058 requires both signed


def test_without_dkim_settings_nothing_is_signed(app, smtp_sink, queue, alice, make_contact):
    queue(alice, make_contact())
    send_due(NOW)
    assert b"DKIM-Signature" not in smtp_sink.wait_for(1)[0].raw


@pytest.mark.parametrize("settings, reason", [
    ({"MAIL_DKIM_KEY_PATH": "/nonexistent/key.pem", "MAIL_DKIM_SELECTOR": "s", "MAIL_DKIM_DOMAIN": "d.com"},
     "cannot be read"),
    ({"MAIL_DKIM_KEY_PATH": str(KEYS / "README.md"), "MAIL_DKIM_SELECTOR": "s", "MAIL_DKIM_DOMAIN": "d.com"},
     "not a usable private key"),
    ({"MAIL_DKIM_SELECTOR": "s"}, "together"),
])
def test_a_dkim_setting_that_cannot_sign_stops_the_app_at_startup(app, settings, reason):
    config = {**app.config, **settings}
    fake = type("FakeApp", (), {"config": config})()
    with pytest.raises(ConfigError, match=reason):
        init(fake)


def test_startup_warnings_for_http_links_and_unsigned_mail(caplog):
    production = {"DEPLOYMENT": "production", "PUBLIC_BASE_URL": "http://crm.acme-sales.com", "SECRET_KEY": "k"}
    found = warnings_for(production)
    assert any("PUBLIC_BASE_URL is http://crm.acme-sales.com, not https" in w for w in found)
    assert any("List-Unsubscribe URL (http://crm.acme-sales.com/u/...) is not https" in w for w in found)
    assert any("not DKIM-signed" in w for w in found)
    development = warnings_for({"DEPLOYMENT": "development", "PUBLIC_BASE_URL": "http://localhost:5000"})
    assert [w for w in development if "List-Unsubscribe" in w] and not [w for w in development if "PUBLIC" in w]
    signed = {"DEPLOYMENT": "production", "PUBLIC_BASE_URL": "https://crm.acme-sales.com",
              "MAIL_DKIM_KEY_PATH": str(KEYS / "test-private.pem"), "MAIL_DKIM_SELECTOR": "crm2026",
              "MAIL_DKIM_DOMAIN": "acme-sales.com"}
    assert warnings_for(signed) == []
    with caplog.at_level(logging.WARNING, logger="crm.mail.deliverability"):
        init(type("FakeApp", (), {"config": production})())
    assert sum("mail deliverability" in r.message for r in caplog.records) == 3
    assert TestConfig.DEPLOYMENT == "testing"


def test_the_signature_keeps_its_line_breaks_in_the_html_part(app, smtp_sink, alice, make_contact, unlimited):
    from crm.sequences.context import template_context
    from crm.sequences.rendering import render_email

    mailbox = mailbox_for(alice)
    mailbox.signature = "Alice Martin\nAccount Executive <Acme>\n+52 55 5555 0100"
    db.session.commit()
    contact = make_contact(email="dana@globex-industries.com", first_name="Dana")
    rendered = render_email("Hi", "Hi {{ contact.first_name }}\n\n{{ sender.signature }}",
                            "<p>Hi {{ contact.first_name }}</p><p>{{ sender.signature }}</p>",
                            template_context(contact, alice))
    assert rendered.html_body == ("<p>Hi Dana</p><p>Alice Martin<br>\nAccount Executive &lt;Acme&gt;<br>\n"
                                  "+52 55 5555 0100</p>")
    assert rendered.text_body.endswith("Alice Martin\nAccount Executive <Acme>\n+52 55 5555 0100")


def test_signer_is_read_once_and_signs_with_the_configured_selector(app, dkim_on):
    first = crm_dkim.signer()
    assert first is crm_dkim.signer() and first.selector == b"crm2026" and first.domain == b"acme-sales.com"
    wire = b"From: alice@acme-sales.com\r\nTo: dana@globex-industries.com\r\nSubject: x\r\n\r\nbody\r\n"
    assert dkim.verify(first.sign(wire), dnsfunc=_dns(b"crm2026._domainkey.acme-sales.com."))
