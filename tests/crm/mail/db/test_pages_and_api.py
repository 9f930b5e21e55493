"""The outbox page and API (list, one-off send later, cancel) and the public unsubscribe page
(GET confirms only; POST, including RFC 8058 one-click without a CSRF token, unsubscribes)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.contacts.models import Activity, Contact
from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.mail.outbound.sender import send_due
from crm.mail.unsubscribe import make_token
from tests.conftest import NOW, csrf_from

API = "/api/v1"


def _email(email_id):
    return db.session.get(OutboundEmail, email_id, populate_existing=True)


# --- unsubscribe -------------------------------------------------------------------------------

def test_get_only_confirms_post_unsubscribes_and_stops(client, prospect):
    contact, enrollment, sent = prospect("dana@northwind-traders.com", "<seq.u1@mail.acme-sales.com>")
    url = f"/u/{make_token(sent.id)}"

    page = client.get(url)  # a link scanner fetching the link changes nothing
    assert page.status_code == 200 and "confirm-unsubscribe" in page.get_data(as_text=True)
    assert db.session.get(Contact, contact.id, populate_existing=True).unsubscribed is False

    done = client.post(url)  # no CSRF token: the signed token is the proof
    assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    assert db.session.get(Contact, contact.id, populate_existing=True).unsubscribed is True
    from crm.sequences.models import Enrollment

    assert db.session.get(Enrollment, enrollment.id, populate_existing=True).stop_reason == "unsubscribed"
    assert client.post(url).status_code == 200  # idempotent
    assert db.session.query(Activity).filter(Activity.kind == "unsubscribed").count() == 1


def test_one_click_post_from_a_mail_client(client, prospect):
    contact, _, sent = prospect("ops@brightline-freight.com", "<seq.u2@mail.acme-sales.com>")
    response = client.post(f"/u/{make_token(sent.id)}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    activity = db.session.scalar(select(Activity).where(Activity.kind == "unsubscribed"))
    assert activity.details["via"] == "one_click"


@pytest.mark.parametrize("token", ["nope", "MTIz.forged-signature", "x" * 300, "%00"])
def test_bad_tokens_are_404_and_change_nothing(client, token):
    assert client.get(f"/u/{token}").status_code == 404
    assert client.post(f"/u/{token}").status_code == 404


def test_the_link_in_a_sent_email_works_end_to_end(client, smtp_sink, prospect, alice):
    from crm.mail.outbound.outbox import enqueue_email

    contact, enrollment, _ = prospect("yuki@nippon-pumps.jp")
    enqueue_email(sender=alice, contact=contact, to_address=contact.email, subject="Hello", text_body="Hi",
                  html_body="<p>Hi</p>", due_at=NOW, now=NOW, enrollment_id=enrollment.id)
    db.session.commit()
    send_due(NOW)
    message = smtp_sink.wait_for(1)[0].message
    url = message["List-Unsubscribe"].split("<")[1].split(">")[0]
    path = url.removeprefix("http://crm.example.com")
    assert client.post(path).status_code == 200
    assert db.session.get(Contact, contact.id, populate_existing=True).unsubscribed is True


# --- outbox page ---------------------------------------------------------------------------------

def test_outbox_page_lists_schedules_and_cancels(client, login, alice, bob, make_contact, unlimited):
    contact = make_contact(owner_id=alice.id, actor=alice)
    login(client, alice)
    page = client.get("/outbox")
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/outbox/send-later", data={
        "csrf_token": token, "contact_id": str(contact.id), "subject": "Lunch next week?",
        "text_body": "Are you free on Tuesday?", "send_at": "2030-01-07T09:30"})
    assert response.status_code == 302
    email = db.session.scalar(select(OutboundEmail))
    assert email.kind == "one_off" and email.status == "queued" and email.user_id == alice.id
    assert email.due_at.year == 2030
    listed = client.get("/outbox").get_data(as_text=True)
    assert "Lunch next week?" in listed
    assert client.get(f"/outbox/{email.id}").status_code == 200
    assert client.post(f"/outbox/{email.id}/cancel", data={"csrf_token": token}).status_code == 302
    assert _email(email.id).status == "cancelled"
    assert "Lunch next week?" in client.get("/outbox?box=failed").get_data(as_text=True)


def test_reps_cannot_see_or_cancel_each_others_mail(client, login, alice, bob, make_contact, queue):
    email = queue(alice, make_contact())
    login(client, bob)
    token = csrf_from(client.get("/outbox").get_data(as_text=True))
    assert client.get(f"/outbox/{email.id}").status_code == 404
    assert client.post(f"/outbox/{email.id}/cancel", data={"csrf_token": token}).status_code == 404
    assert _email(email.id).status == "queued"
    assert "Quick question" not in client.get("/outbox").get_data(as_text=True)


def test_send_later_without_csrf_is_refused(client, login, alice, make_contact):
    contact = make_contact(owner_id=alice.id, actor=alice)
    login(client, alice)
    response = client.post("/outbox/send-later", data={"contact_id": str(contact.id), "subject": "x", "text_body": "y"})
    assert response.status_code == 400
    assert db.session.query(OutboundEmail).count() == 0


# --- outbox API ----------------------------------------------------------------------------------

def test_api_send_later_list_read_cancel(client, api_token, alice, make_contact, unlimited, smtp_sink):
    headers = api_token(alice)
    contact = make_contact(owner_id=alice.id, actor=alice)
    later = NOW + timedelta(days=50)  # 29 April 2026, 14:30 UTC
    created = client.post(f"{API}/outbox", headers=headers, json={
        "contact_id": contact.id, "subject": "Pricing", "text_body": "Here are our prices.",
        "due_at": later.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "queued" and body["kind"] == "one_off" and body["due_at"].startswith("2026-04-29T14:30")
    listed = client.get(f"{API}/outbox", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert client.get(f"{API}/outbox/{body['id']}", headers=headers).status_code == 200
    cancelled = client.delete(f"{API}/outbox/{body['id']}", headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert client.delete(f"{API}/outbox/{body['id']}", headers=headers).status_code == 409
    # Now: sent by the next tick like sequence mail.
    now_email = client.post(f"{API}/outbox", headers=headers, json={
        "contact_id": contact.id, "subject": "Now", "text_body": "Right away."}).get_json()
    send_due(NOW + timedelta(minutes=1))
    assert smtp_sink.wait_for(1)[0].message["Subject"] == "Now"
    sent = client.get(f"{API}/outbox?box=sent", headers=headers).get_json()
    assert [item["id"] for item in sent["items"]] == [now_email["id"]]


def test_api_refuses_unsubscribed_contacts_and_others_contacts(client, api_token, alice, bob, make_contact):
    unsubscribed = make_contact(owner_id=alice.id, unsubscribed=True, actor=alice)
    bobs = make_contact(owner_id=bob.id, actor=bob)
    headers = api_token(alice)
    response = client.post(f"{API}/outbox", headers=headers,
                           json={"contact_id": unsubscribed.id, "subject": "Hi", "text_body": "Hi"})
    assert response.status_code == 422
    response = client.post(f"{API}/outbox", headers=headers,
                           json={"contact_id": bobs.id, "subject": "Hi", "text_body": "Hi"})
    assert response.status_code == 403
    assert client.get(f"{API}/outbox?user_id={bob.id}", headers=headers).status_code == 404


def test_a_manager_sees_the_team_outbox(client, api_token, alice, mallory, charlie, make_contact, queue):
    email = queue(alice, make_contact())
    headers = api_token(mallory)
    listed = client.get(f"{API}/outbox?user_id={alice.id}", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [email.id]
    assert client.get(f"{API}/outbox?user_id={charlie.id}", headers=headers).status_code == 404


def test_webhook_survives_nasty_bodies_with_the_secret(client):
    from tests.crm.api.test_api_errors import NASTY_BODIES

    for body in NASTY_BODIES:
        response = client.post(f"{API}/inbound-mail", json=body, headers={"X-Inbound-Secret": "test-inbound-secret"})
        assert response.status_code == 415
    for data in (b"{", b"\x00", b"\xff" * 10, b"From: <>\r\n\r\n", b"--\r\n" * 1000):
        response = client.post(f"{API}/inbound-mail", data=data, content_type="message/rfc822",
                               headers={"X-Inbound-Secret": "test-inbound-secret"})
        assert response.status_code == 200, data
