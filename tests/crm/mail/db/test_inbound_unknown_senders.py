"""Issue 24: a message without any reply cue counts as a reply only from someone we know;
newsletters and bulk mail never do. Through the webhook, on a real enrollment."""
from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.mail.models import InboundMessage
from crm.sequences.models import Enrollment
from tests.crm.mail.mailfactory import build

SECRET = {"X-Inbound-Secret": "test-inbound-secret"}
COLD = "Hello, we offer pallet racking at great prices. Can we schedule a call?"


def post(client, data: bytes):
    response = client.post("/api/v1/inbound-mail", data=data, headers=SECRET, content_type="message/rfc822")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def cold(sender: str, message_id: str, **headers: str) -> bytes:
    return build(COLD, subject="Pallet racking offer", sender=sender, message_id=message_id, **headers)


def test_an_unknown_senders_message_without_reply_cues_is_other(client):
    body = post(client, cold("Vendor <sales@rack-vendor.example>", "<cold.1@rack-vendor.example>"))
    assert body["classification"] == "other" and body["contact_id"] is None
    logged = db.session.scalar(select(InboundMessage))
    assert logged.classification == "other"
    assert any("unknown sender" in reason for reason in logged.reasons)


def test_the_same_message_from_a_contact_is_their_reply(client, prospect):
    contact, enrollment, _ = prospect("bob.keller@globex-industries.com")
    body = post(client, cold("Bob Keller <bob.keller@globex-industries.com>", "<cold.2@globex-industries.com>"))
    assert body["classification"] == "reply" and body["contact_id"] == contact.id
    assert body["stopped"] == [enrollment.id]


def test_an_unknown_senders_threaded_answer_is_still_a_reply(client):
    raw = build("Yes, Thursday works.", subject="Re: Quick question", sender="someone@elsewhere.example",
                message_id="<r.1@elsewhere.example>", In_Reply_To="<seq.404@mail.acme-sales.com>")
    assert post(client, raw)["classification"] == "reply"


def test_a_newsletter_from_a_contact_stops_nothing(client, prospect):
    contact, enrollment, _ = prospect("news@globex-industries.com")
    raw = build("Our November newsletter: new warehouse in Monterrey.", subject="Globex news, November",
                sender="Globex <news@globex-industries.com>", message_id="<nl.1@globex-industries.com>",
                List_Unsubscribe="<https://globex-industries.com/unsubscribe?u=1>",
                List_Id="<news.globex-industries.com>")
    body = post(client, raw)
    assert body["classification"] == "other" and body["stopped"] == []
    assert db.session.get(Enrollment, enrollment.id).status == "active"
