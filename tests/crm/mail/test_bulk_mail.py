"""Newsletters and bulk mail are 'other', never a reply; a reply through a list stays a reply."""
from __future__ import annotations

import pytest

from crm.mail.inbound import classify_message
from tests.crm.mail.mailfactory import OWN, RECEIVED, build


def kind(raw: bytes) -> str:
    return classify_message(raw, own_addresses=OWN, now=RECEIVED).classification


@pytest.mark.parametrize("headers", [
    {"List_Id": "<news.globex-industries.com>"},
    {"List_Unsubscribe": "<https://globex-industries.com/u/1>"},
    {"Precedence": "bulk"},
    {"Precedence": "list"},
    {"Feedback_ID": "1234:campaign:mailchimp"},
    {"X_Mailchimp_Campaign": "a1b2c3"},
    {"X_SES_Outgoing": "2026.11.25-54.240.1.1"},
    {"X_HubSpot_Email_Id": "991"},
])
def test_bulk_mail_that_answers_nothing_is_other(headers):
    raw = build("Our November newsletter: a new warehouse in Monterrey.", subject="Globex news", **headers)
    assert kind(raw) == "other"


@pytest.mark.parametrize("headers", [
    {"List_Id": "<buyers.googlegroups.com>"},
    {"List_Unsubscribe": "<mailto:buyers+unsubscribe@googlegroups.com>"},
])
def test_a_reply_to_our_message_through_a_list_is_a_reply(headers):
    raw = build("Yes, Thursday works for the whole team.", In_Reply_To="<seq.17@mail.acme-sales.com>", **headers)
    assert kind(raw) == "reply"


def test_a_plain_message_without_list_headers_is_still_a_reply_from_the_classifier():
    """Whether the sender is known is decided when matching (process.py), not here."""
    result = classify_message(build("Can we talk about pricing?", subject="Pricing"), now=RECEIVED)
    assert (result.classification, result.reply_cues) == ("reply", ())
    threaded = classify_message(build("Sure.", In_Reply_To="<seq.17@mail.acme-sales.com>"), now=RECEIVED)
    assert threaded.reply_cues == ("reply subject prefix", "In-Reply-To header")
