"""The timeline reads as sentences (issue 20): one entry per event, the useful details in the
sentence with links, ids and technical fields folded into a details toggle, and a fallback for
kinds that declare no sentence."""
from __future__ import annotations

import re
from datetime import timedelta

from crm.contacts.timeline import record_activity
from crm.extensions import db
from crm.features import FEATURES, timeline_sentences
from tests.conftest import NOW


def _page(client, contact):
    return client.get(f"/contacts/{contact.id}").get_data(as_text=True)


def test_an_email_sent_twice_is_one_entry_with_its_subject_linked(client, login, alice, make_contact):
    contact = make_contact(owner_id=alice.id, first_name="Ana", last_name="Ruiz")
    for at in (NOW - timedelta(minutes=2), NOW - timedelta(minutes=1)):
        record_activity("email_sent", at, contact_id=contact.id, user_id=alice.id,
                        details={"outbound_email_id": 7, "subject": "Pumps <for> you", "message_id": "<m@x>"})
    db.session.commit()
    login(client, alice)
    html = _page(client, contact)
    sentence = 'Alice Rep sent <a href="/outbox/7">Pumps &lt;for&gt; you</a> to Ana Ruiz'
    assert html.count(sentence) == 1
    assert "<dt>Message id</dt>" in html and "<summary>Details</summary>" in html  # folded, not in the sentence


def test_technical_fields_are_folded_and_unsafe_links_are_not_links(client, login, alice, make_contact):
    contact = make_contact(owner_id=alice.id, first_name="Ana", last_name="Ruiz")
    record_activity("page_viewed", NOW, contact_id=contact.id, details={
        "url": "javascript:alert(1)", "title": "Pricing", "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"})
    record_activity("email_clicked", NOW - timedelta(minutes=1), contact_id=contact.id, details={
        "url": "https://example.com/case", "title": "Case study", "subject": "Hello", "verdict": "human"})
    db.session.commit()
    login(client, alice)
    html = _page(client, contact)
    assert "Ana Ruiz viewed <strong>Pricing</strong>" in html and "javascript:" not in html
    assert 'Ana Ruiz clicked <a href="https://example.com/case">Case study</a> in <strong>Hello</strong>' in html
    assert "<dt>Ip</dt><dd>203.0.113.9</dd>" in html and "<dt>User agent</dt>" in html


def test_a_kind_without_a_sentence_reads_as_its_label_with_its_details(client, login, alice, make_contact):
    contact = make_contact(owner_id=alice.id)
    record_activity("quote_signed", NOW, contact_id=contact.id, user_id=alice.id, details={"quote": "Q-17"})
    record_activity("deal_lost", NOW - timedelta(minutes=1), contact_id=contact.id, user_id=alice.id, details={})
    db.session.commit()
    login(client, alice)
    html = _page(client, contact)
    assert "<strong>Quote signed</strong>" in html and "<dt>Quote</dt><dd>Q-17</dd>" in html
    # deal_lost's sentences need a deal this row lacks: its label, never a sentence with a hole.
    assert "<strong>Deal lost</strong>" in html


def test_every_declared_sentence_uses_known_placeholders():
    known = {"actor", "contact", "deal", "email", "page", "meeting", "sequence", "duration", "outcome", "amount",
             "start", "until", "from", "to", "reason", "source"}
    sentences = timeline_sentences()
    assert {"call", "email_sent", "meeting_booked", "form_submitted"} <= set(sentences)
    for feature in FEATURES:
        for kind in feature.timeline_sentences:
            for template in sentences[kind]:
                assert set(re.findall(r"%\((\w+)\)s", str(template))) <= known, (kind, str(template))

