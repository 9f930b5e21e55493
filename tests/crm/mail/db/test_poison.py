"""One bad message never blocks the rest (issue 24): an international address on a server
without SMTPUTF8, a message that cannot be built, a refused recipient, a 4xx after DATA, an
unexpected exception. Each fails or defers that message alone, with its reason and attempt
count; the others of the batch and of the mailbox are delivered exactly once, read back from
the real SMTP server (aiosmtpd)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.mail import transport
from crm.mail.models import OutboundEmail
from crm.mail.outbound import sender
from crm.mail.outbound.sender import send_due
from tests.conftest import NOW
from tests.mailsink import SmtpSink

INTERNATIONAL = "sergio.díaz@example-corp1.com"


@pytest.fixture(scope="module")
def _utf8_server():
    sink = SmtpSink(smtputf8=True).start()
    yield sink
    sink.stop()


@pytest.fixture
def utf8_sink(app, smtp_sink, _utf8_server):
    """An SMTP server that offers SMTPUTF8, in place of the suite's plain one for this test."""
    _utf8_server.clear()
    _utf8_server.reset_faults()
    app.config["SMTP_PORT"] = _utf8_server.port
    yield _utf8_server


def _reload(email):
    return db.session.get(OutboundEmail, email.id, populate_existing=True)


def _batch(queue, alice, make_contact, poisoned_address: str, *, others: int = 4):
    """``others`` good messages around one poisoned one, all of the same mailbox and due now."""
    good = [queue(alice, make_contact()) for _ in range(others // 2)]
    bad = queue(alice, make_contact(email=poisoned_address))
    good += [queue(alice, make_contact()) for _ in range(others - others // 2)]
    return bad, good


def _delivered_once(sink, emails) -> None:
    counts = sink.received_by()
    assert {e.to_address: counts.get(e.to_address, 0) for e in emails} == {e.to_address: 1 for e in emails}


def test_international_address_goes_with_smtputf8_when_offered(app, utf8_sink, queue, alice, make_contact):
    contact = make_contact(email=INTERNATIONAL, first_name="Sergio")
    email = queue(alice, contact, subject="Hola Sergio", html_body="<p>Hola</p>")

    assert send_due(NOW).sent == 1

    [received] = utf8_sink.wait_for(1)
    assert received.rcpt_tos == [INTERNATIONAL]
    assert received.message["To"] == INTERNATIONAL  # raw UTF-8 (RFC 6532), not an encoded word
    assert "=?utf-8?" not in received.raw.decode("utf-8").split("\r\n\r\n")[0].split("To:")[1].split("\r\n")[0]
    assert _reload(email).status == "sent"


def test_international_address_fails_alone_when_the_server_cannot_take_it(
        app, smtp_sink, queue, alice, make_contact):
    bad, good = _batch(queue, alice, make_contact, INTERNATIONAL)

    result = send_due(NOW)

    assert (result.sent, result.failed, result.retried) == (4, 1, 0)
    smtp_sink.wait_for(4)
    _delivered_once(smtp_sink, good)
    bad = _reload(bad)
    assert bad.status == "failed" and bad.attempts == 1 and bad.claimed_by is None
    assert "the server does not accept international addresses" in bad.last_error
    [failed] = db.session.scalars(select(Activity).where(Activity.kind == "email_failed")).all()
    assert failed.contact_id == bad.contact_id
    assert "does not accept international addresses" in failed.details["reason"]
    # Nothing comes back on later ticks: no reclaim loop, no duplicate of the others.
    later = NOW + timedelta(seconds=app.config["MAIL_CLAIM_TIMEOUT_SECONDS"] + 1)
    assert not send_due(later)
    assert len(smtp_sink.messages) == 4


def test_an_international_domain_travels_in_idna_form(app, smtp_sink, queue, alice, make_contact):
    contact = make_contact(email="ana@bücher-industries.com")
    queue(alice, contact)
    assert send_due(NOW).sent == 1
    [received] = smtp_sink.wait_for(1)
    ascii_form = "ana@" + "bücher-industries.com".encode("idna").decode()
    assert ascii_form.startswith("ana@xn--") and received.rcpt_tos == [ascii_form]
    assert received.message["To"] == ascii_form


def _poison_build(monkeypatch, address):
    real = sender.build_wire

    def build(email, *args, **kwargs):
        if email.to_address == address:
            raise UnicodeEncodeError("ascii", "ñ", 0, 1, "injected: cannot encode")
        return real(email, *args, **kwargs)

    monkeypatch.setattr(sender, "build_wire", build)


def _poison_tracking(monkeypatch, address):
    real = sender.tracked_html

    def track(email, links=None):
        if email.to_address == address:
            raise ValueError("injected: the HTML cannot be parsed")
        return real(email, links)

    monkeypatch.setattr(sender, "tracked_html", track)


def _poison_exception(monkeypatch, address):
    real = transport.send_bytes

    def send(from_address, to_addresses, data, **kwargs):
        if address in to_addresses:
            raise RuntimeError("injected: a bug nobody expected")
        return real(from_address, to_addresses, data, **kwargs)

    monkeypatch.setattr(transport, "send_bytes", send)


# step -> (inject(monkeypatch, sink, address), expected status, attempts, reason fragment, fault clears?)
STEPS = {
    "build": (lambda mp, sink, a: _poison_build(mp, a), "failed", "could not build the message: UnicodeEncodeError"),
    "tracking": (lambda mp, sink, a: _poison_tracking(mp, a), "failed", "could not build the message: ValueError"),
    "rcpt_5xx": (lambda mp, sink, a: sink.refuse(a), "failed", "550 5.1.1"),
    "data_4xx": (lambda mp, sink, a: sink.defer_data(a), "queued", "451 4.3.0"),
    "exception": (lambda mp, sink, a: _poison_exception(mp, a), "queued", "unexpected error: RuntimeError"),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_poisoned_message_fails_or_waits_alone_and_the_rest_go_once(
        step, app, smtp_sink, queue, alice, make_contact, monkeypatch):
    inject, status, reason = STEPS[step]
    address = "poison@globex-industries.com"
    html = "<html><body><p>Hi <a href='https://acme-sales.com/x'>link</a></p></body></html>"
    good = [queue(alice, make_contact(), html_body=html) for _ in range(2)]
    bad = queue(alice, make_contact(email=address), html_body=html)
    good += [queue(alice, make_contact(), html_body=html) for _ in range(2)]
    inject(monkeypatch, smtp_sink, address)

    result = send_due(NOW)

    assert result.sent == 4
    assert (result.failed, result.retried) == ((1, 0) if status == "failed" else (0, 1))
    smtp_sink.wait_for(4)
    _delivered_once(smtp_sink, good)
    assert address not in smtp_sink.received_by()
    bad = _reload(bad)
    assert bad.status == status and bad.attempts == 1 and bad.claimed_by is None
    assert reason in bad.last_error
    if status == "queued":  # deferred with a backoff, then sent once the fault is gone
        assert bad.due_at == NOW + timedelta(seconds=app.config["MAIL_RETRY_BASE_SECONDS"])
        monkeypatch.undo()
        smtp_sink.reset_faults()
        assert send_due(bad.due_at).sent == 1
        smtp_sink.wait_for(5)
        _delivered_once(smtp_sink, [*good, bad])
        assert _reload(bad).attempts == 2
    else:
        assert not send_due(NOW + timedelta(hours=1))
    assert len(smtp_sink.messages) == (5 if status == "queued" else 4)


def test_everything_at_once_still_delivers_the_rest_exactly_once(app, smtp_sink, queue, alice, bob, make_contact,
                                                                 monkeypatch):
    """The issue's "done when": an international address, a message that cannot be built and
    a refused recipient in one mailbox, plus another rep's mailbox, in one tick."""
    refused = "nobody@globex-industries.com"
    broken = "broken@globex-industries.com"
    smtp_sink.refuse(refused)
    _poison_build(monkeypatch, broken)
    bad = [queue(alice, make_contact(email=address)) for address in (INTERNATIONAL, broken, refused)]
    good = [queue(alice, make_contact()) for _ in range(3)] + [queue(bob, make_contact()) for _ in range(3)]

    result = send_due(NOW)

    assert (result.sent, result.failed) == (6, 3)
    smtp_sink.wait_for(6)
    _delivered_once(smtp_sink, good)
    assert [_reload(e).status for e in bad] == ["failed"] * 3
    assert not send_due(NOW + timedelta(hours=2))
    assert len(smtp_sink.messages) == 6


# --- retry and cancel a failed email from the outbox (page and API) -----------------------------

def _failed_one_off(app, queue, alice, make_contact):
    email = queue(alice, make_contact(email=INTERNATIONAL, owner_id=alice.id, actor=alice), kind="one_off")
    assert send_due(NOW).failed == 1
    return _reload(email)


def test_a_failed_email_is_retried_from_the_outbox_page_and_sent_once(
        app, client, login, smtp_sink, _utf8_server, queue, alice, make_contact):
    from tests.conftest import csrf_from

    failed = _failed_one_off(app, queue, alice, make_contact)
    login(client, alice)
    page = client.get("/outbox?box=failed").get_data(as_text=True)
    assert "does not accept international addresses" in page and f"/outbox/{failed.id}/retry" in page
    token = csrf_from(page)
    assert client.post(f"/outbox/{failed.id}/retry", data={}).status_code == 400  # no CSRF token
    assert _reload(failed).status == "failed"
    app.config["SMTP_PORT"] = _utf8_server.port  # the operator moved to a server with SMTPUTF8
    _utf8_server.clear()
    assert client.post(f"/outbox/{failed.id}/retry", data={"csrf_token": token}).status_code == 302
    queued = _reload(failed)
    assert (queued.status, queued.attempts) == ("queued", 0)
    assert send_due(NOW + timedelta(minutes=1)).sent == 1
    assert _utf8_server.received_by() == {INTERNATIONAL: 1}
    # Sent: neither retry nor cancel applies any more.
    assert client.post(f"/outbox/{failed.id}/retry", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/outbox/{failed.id}/cancel", data={"csrf_token": token}).status_code == 302
    assert _reload(failed).status == "sent"


def test_api_retries_or_cancels_a_failed_email(app, client, api_token, smtp_sink, queue, alice, bob, make_contact):
    failed = _failed_one_off(app, queue, alice, make_contact)
    headers = api_token(alice)
    api = "/api/v1/outbox"
    assert client.post(f"{api}/{failed.id}/retry", headers=api_token(bob)).status_code == 404
    retried = client.post(f"{api}/{failed.id}/retry", headers=headers)
    assert retried.status_code == 200 and retried.json["status"] == "queued" and retried.json["attempts"] == 0
    assert client.post(f"{api}/{failed.id}/retry", headers=headers).status_code == 409  # queued, not failed
    assert send_due(NOW + timedelta(minutes=1)).failed == 1  # still the same server
    cancelled = client.delete(f"{api}/{failed.id}", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert "international addresses" in cancelled.json["last_error"]
    assert client.post(f"{api}/{failed.id}/retry", headers=headers).status_code == 409
    assert "/api/v1/outbox/{outbound_email_id}/retry" in client.get("/api/v1/openapi.json").json["paths"]


def test_a_failed_sequence_email_is_not_retried_from_the_outbox(app, client, api_token, smtp_sink, queue, alice,
                                                                 make_contact):
    failed = queue(alice, make_contact(email=INTERNATIONAL))
    send_due(NOW)
    response = client.post(f"/api/v1/outbox/{failed.id}/retry", headers=api_token(alice))
    assert response.status_code == 409 and "sequence" in response.json["error"]["message"]
    assert _reload(failed).status == "failed"


def test_the_contact_page_warns_about_an_international_address(client, login, alice, make_contact):
    international = make_contact(email=INTERNATIONAL, owner_id=alice.id, actor=alice)
    plain = make_contact(email="ana@bücher-industries.com", owner_id=alice.id, actor=alice)
    login(client, alice)
    page = client.get(f"/contacts/{international.id}").get_data(as_text=True)
    assert 'id="international-address"' in page and "SMTPUTF8" in page
    assert 'id="international-address"' not in client.get(f"/contacts/{plain.id}").get_data(as_text=True)
