"""Real raw messages (tests/fixtures/mail) classified as a rep's mailbox would need them."""
from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from datetime import date, datetime, timezone

import pytest

from crm.mail.inbound import InboundClassification, classify_message
from tests.crm.mail.mailfactory import OWN, RECEIVED, build, fixture, fixture_names


@dataclass(frozen=True)
class Expect:
    classification: str
    bounce_type: str | None = None
    recipients: tuple[str, ...] = ()
    dsn_status: str | None = None
    return_date: date | None = None


EXPECTED = {
    # replies, the way real clients write them
    "reply_gmail.eml": Expect("reply"),
    "reply_outlook.eml": Expect("reply"),
    "reply_apple_mail.eml": Expect("reply"),
    "reply_colleague.eml": Expect("reply"),
    "reply_alias.eml": Expect("reply"),
    "reply_html_only.eml": Expect("reply"),
    "reply_no_content_type_8bit.eml": Expect("reply"),
    "reply_unknown_charset.eml": Expect("reply"),
    "reply_malformed_mime.eml": Expect("reply"),
    # out-of-office, with and without RFC 3834 headers, in six languages
    "ooo_exchange_en.eml": Expect("auto_reply", return_date=date(2026, 12, 7)),
    "ooo_gmail_vacation.eml": Expect("auto_reply", return_date=date(2026, 12, 3)),
    "ooo_german_noheaders.eml": Expect("auto_reply", return_date=date(2026, 12, 3)),
    "ooo_french_zimbra.eml": Expect("auto_reply", return_date=date(2026, 12, 3)),
    "ooo_spanish_headers.eml": Expect("auto_reply", return_date=date(2026, 12, 7)),
    "ooo_spanish_noheaders.eml": Expect("auto_reply", return_date=date(2026, 12, 3)),
    "ooo_italian.eml": Expect("auto_reply", return_date=date(2026, 12, 5)),  # "fino al 4 dicembre compreso"
    "ooo_dutch.eml": Expect("auto_reply", return_date=date(2026, 12, 7)),
    "ooo_no_date.eml": Expect("auto_reply", return_date=None),
    # bounces: RFC 3464 reports and plain-text ones
    "bounce_postfix_hard.eml": Expect("bounce", "hard", ("h.vogel@globex-industries.com",), "5.1.1"),
    "bounce_soft_mailbox_full.eml": Expect("bounce", "soft", ("ops@brightline-freight.com",), "4.2.2"),
    "bounce_exchange_ndr.eml": Expect("bounce", "hard", ("m.jansen@contoso-retail.com",), "5.1.10"),
    "bounce_qmail.eml": Expect("bounce", "hard", ("frank.mills@oldtown-hardware.com",), "5.1.1"),
    "bounce_exim.eml": Expect("bounce", "hard", ("g.price@harbor-supplies.co.uk",), "5.1.1"),
    "bounce_gmail_dsn.eml": Expect("bounce", "hard", ("p.nowak@vistula-trade.pl",), "5.1.1"),
    "bounce_yahoo_soft.eml": Expect("bounce", "soft", ("tom.baker.freight@yahoo.com",)),
    # unsubscribe requests
    "unsubscribe_reply.eml": Expect("unsubscribe_request"),
    "unsubscribe_mailto.eml": Expect("unsubscribe_request"),
    # everything that is neither
    "read_receipt.eml": Expect("other"),
    "newsletter.eml": Expect("other"),
    "calendar_accept.eml": Expect("other"),
    "dsn_delivered.eml": Expect("other"),
    "notice_auto_generated.eml": Expect("other"),
    "own_sent_copy.eml": Expect("other"),
}


def classify(name: str, **kwargs) -> InboundClassification:
    kwargs.setdefault("own_addresses", OWN)
    kwargs.setdefault("now", RECEIVED)
    return classify_message(fixture(name), **kwargs)


def test_every_fixture_has_an_expectation():
    assert fixture_names() == sorted(EXPECTED)
    assert len(EXPECTED) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_is_classified(name):
    expect, result = EXPECTED[name], classify(name)
    assert (result.classification, result.bounce_type, result.bounced_recipients, result.return_date) == (
        expect.classification, expect.bounce_type, expect.recipients, expect.return_date
    ), result.reasons
    if expect.dsn_status:
        assert result.dsn_status == expect.dsn_status
    assert result.reasons  # every verdict says which rule fired


def test_gmail_reply_carries_the_thread_and_sender():
    result = classify("reply_gmail.eml")
    assert result.from_address == "bob.keller@globex-industries.com"
    assert result.from_name == "Bob Keller"
    assert result.subject == "Re: Quick question about your freight costs"
    assert result.message_id == "<CAPq7+Lk3sXm0yT9rB2nW4vQ8hJ6fD1cE5gA7pL9mK2oR4tU6w@mail.gmail.com>"
    assert result.in_reply_to == ("<seq.7f3a9c2e41d8.1@mail.acme-sales.com>",)
    assert result.references == ("<seq.7f3a9c2e41d8.1@mail.acme-sales.com>",)
    assert result.is_own_message is False


def test_outlook_reply_without_in_reply_to_is_a_reply():
    result = classify("reply_outlook.eml")
    assert result.in_reply_to == () and result.references == ()
    assert result.classification == "reply"


def test_colleague_reply_keeps_every_referenced_message_id():
    result = classify("reply_colleague.eml")
    assert result.from_address == "carol.nguyen@globex-industries.com"
    assert "<seq.7f3a9c2e41d8.1@mail.acme-sales.com>" in result.references


def test_alias_sender_is_normalised_to_lower_case():
    result = classify("reply_alias.eml")
    assert result.from_address == "b.keller@globex-industries.com"
    assert result.from_name == "Keller, Bob"


@pytest.mark.parametrize("name, new_words, quoted_words", [
    ("reply_gmail.eml", "Thursday afternoon works", "Rotterdam"),
    ("reply_outlook.eml", "Try me again in Q3", "Felixstowe"),
    ("reply_apple_mail.eml", "case study first", "Southampton"),
    ("reply_colleague.eml", "I look after carrier contracts", "Good timing"),
    ("reply_html_only.eml", "40 containers a month", "15-minute call"),
])
def test_text_is_the_new_part_without_quoted_history(name, new_words, quoted_words):
    text = classify(name).text
    assert new_words in text
    assert quoted_words not in text
    assert "Unsubscribe" not in text


def test_our_quoted_unsubscribe_link_does_not_make_a_reply_an_unsubscribe_request():
    """Every sequence email ends with an unsubscribe link, and replies quote it."""
    for name in ("reply_gmail.eml", "reply_outlook.eml", "reply_apple_mail.eml"):
        assert classify(name).classification == "reply"


def test_bodies_in_unusual_encodings_are_decoded():
    assert "Grüße aus Köln" in classify("reply_no_content_type_8bit.eml").text
    assert classify("reply_no_content_type_8bit.eml").from_name == "Jürgen Müller"
    assert "Très intéressé" in classify("reply_unknown_charset.eml").text
    assert "rate card for FCL Hamburg" in classify("reply_malformed_mime.eml").text


def test_malformed_mime_is_reported_in_the_reasons():
    reasons = classify("reply_malformed_mime.eml").reasons
    assert any(r.startswith("parse: malformed MIME") for r in reasons)


def test_encoded_headers_are_decoded():
    assert classify("ooo_german_noheaders.eml").subject == "Abwesenheitsnotiz: Frachtkosten – kurze Frage"
    assert classify("ooo_spanish_headers.eml").from_name == "Lucía Fernández"
    assert classify("ooo_french_zimbra.eml").from_name == "Céline Dubois"


def test_own_sent_copy_is_never_a_reply():
    """warmbly#549: the rep's threaded follow-up synced from Sent stopped the sequence."""
    result = classify("own_sent_copy.eml")
    assert result.is_own_message is True
    assert result.classification == "other"
    assert result.in_reply_to == ("<seq.7f3a9c2e41d8.1@mail.acme-sales.com>",)


def test_own_addresses_are_compared_normalised():
    result = classify("own_sent_copy.eml", own_addresses=["  ALICE.MARTIN@Acme-Sales.COM "])
    assert result.is_own_message is True and result.classification == "other"


def test_own_address_decides_between_reply_and_other():
    """A plain threaded message from the rep (no List-Unsubscribe headers, e.g. written in
    the mail client) only escapes being a reply through ``own_addresses``."""
    raw = build("Following up on my note below.", sender="Alice Martin <alice.martin@acme-sales.com>",
                to="bob.keller@globex-industries.com", In_Reply_To="<seq.7f3a9c2e41d8.1@mail.acme-sales.com>")
    assert classify_message(raw, now=RECEIVED).classification == "reply"
    mine = classify_message(raw, own_addresses=OWN, now=RECEIVED)
    assert (mine.classification, mine.is_own_message) == ("other", True)
    assert any("own message" in r for r in mine.reasons)


def test_own_addresses_never_mark_someone_else():
    assert classify("reply_gmail.eml").is_own_message is False


def test_bounce_names_the_message_of_ours_it_returned():
    assert classify("bounce_postfix_hard.eml").original_message_id == "<seq.4b7d2e9a1c60.1@mail.acme-sales.com>"
    assert classify("bounce_exchange_ndr.eml").original_message_id == "<seq.c8f3a1d6e2b9.1@mail.acme-sales.com>"
    assert classify("bounce_qmail.eml").original_message_id == "<seq.2f6c9e3a8b17.1@mail.acme-sales.com>"


def test_bounced_recipients_never_include_our_own_address():
    for name, expect in EXPECTED.items():
        if expect.classification == "bounce":
            assert "alice.martin@acme-sales.com" not in classify(name).bounced_recipients


def test_auto_replies_are_never_replies():
    for name in EXPECTED:
        if name.startswith("ooo_"):
            assert classify(name).classification == "auto_reply", name


def test_stale_out_of_office_read_months_later_has_no_return_date():
    result = classify("ooo_gmail_vacation.eml", now=datetime(2027, 3, 1, tzinfo=timezone.utc))
    assert result.classification == "auto_reply"
    assert result.return_date is None
    assert any("already past" in r for r in result.reasons)


def test_return_date_year_follows_now():
    """"December 3" with no year read in November 2027 is December 2027."""
    result = classify("ooo_gmail_vacation.eml", now=datetime(2027, 11, 20, tzinfo=timezone.utc))
    assert result.return_date == date(2027, 12, 3)


def test_only_auto_replies_carry_a_return_date():
    assert classify("reply_gmail.eml").return_date is None
    mentions_a_date = build("I will be back on 3 December, let's talk then.")
    assert classify_message(mentions_a_date, now=RECEIVED).return_date is None


def test_result_is_immutable():
    result = classify("reply_gmail.eml")
    with pytest.raises(FrozenInstanceError):
        result.classification = "other"  # type: ignore[misc]
    assert isinstance(result.reasons, tuple) and isinstance(result.references, tuple)


def test_now_defaults_to_the_current_time():
    result = classify_message(fixture("ooo_no_date.eml"))
    assert result.classification == "auto_reply"
