"""Real raw messages (tests/fixtures/mail) classified as a rep's mailbox would need them."""
from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from datetime import date, datetime, timedelta, timezone

import pytest

from crm.mail.inbound import InboundClassification, classify_message
from tests.conftest import NOW
from tests.crm.mail.mailfactory import OWN, RECEIVED, build, day_month, fixture, fixture_names, out_of_office


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


def test_an_out_of_office_read_months_later_means_what_it_meant_when_written():
    """An IMAP backlog: "back on Thursday, December 3" in a message dated 25 November 2026
    is 3 December 2026 whenever it is processed (the caller sees that it has passed)."""
    result = classify("ooo_gmail_vacation.eml", now=datetime(2027, 3, 1, tzinfo=timezone.utc))
    assert result.classification == "auto_reply"
    assert result.return_date == date(2026, 12, 3)
    assert "dates read relative to the message's Date (2026-11-25)" in result.reasons


def test_return_date_year_follows_the_messages_date():
    """"December 3" with no year in a message written in November 2027 is December 2027."""
    raw = fixture("ooo_gmail_vacation.eml").replace(b"Date: Wed, 25 Nov 2026 00:16:39 -0800",
                                                    b"Date: Sat, 20 Nov 2027 09:12:00 -0800")
    result = classify_message(raw, now=datetime(2027, 11, 20, 17, 13, tzinfo=timezone.utc))
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


# --- return dates, read relative to the message's own Date header ------------------------------
# The clock is frozen at NOW (Tuesday 10 March 2026, 14:30 UTC); messages are written a few
# minutes before they are classified unless a test says otherwise.

TODAY = NOW.date()
WRITTEN = NOW - timedelta(minutes=3)


def return_date(body: str, written, now=NOW) -> InboundClassification:
    result = classify_message(out_of_office(body, written), own_addresses=OWN, now=now)
    assert result.classification == "auto_reply", result.reasons
    return result


def test_back_today():
    result = return_date(f"I was away last week and I am back in the office on {day_month(TODAY)}.", WRITTEN)
    assert result.return_date == TODAY == date(2026, 3, 10)


def test_back_tomorrow_in_words_and_as_a_date():
    assert return_date("I am out of the office today. Back tomorrow.", WRITTEN).return_date == date(2026, 3, 11)
    assert return_date(f"I will be back on {day_month(TODAY + timedelta(days=1))}.", WRITTEN).return_date == \
        date(2026, 3, 11)


def test_out_until_yesterday_means_back_today():
    """"Until" is inclusive: the day after the last day off, here the message's own day."""
    body = f"I am out of the office until {day_month(TODAY - timedelta(days=1))} inclusive."
    assert return_date(body, WRITTEN).return_date == TODAY


def test_a_past_return_date_is_dropped():
    result = return_date(f"I will be back on {day_month(TODAY - timedelta(days=8))}.", WRITTEN)  # 2 March
    assert result.return_date is None
    assert "stated return date 2026-03-02 is already past" in result.reasons


@pytest.mark.parametrize("days_before, expected", [
    (1, None), (30, None), (31, None),  # at most 31 days back: a stale notice, dropped
    (32, date(2027, 2, 6)),  # further back: next year's occurrence
])
def test_the_stale_notice_guard_is_31_days(days_before, expected):
    body = f"I will be back on {day_month(TODAY - timedelta(days=days_before))}."
    assert return_date(body, WRITTEN).return_date == expected


def test_relative_words_count_from_the_messages_day_not_from_processing():
    """Written on Friday 6 March, read on Tuesday 10 March: "Monday" is 9 March, already past
    for the caller but the date the sender meant."""
    friday = datetime(2026, 3, 6, 17, 45, tzinfo=timezone(timedelta(hours=1)))
    assert return_date("I am away today and will be back on Monday.", friday).return_date == date(2026, 3, 9)
    assert return_date("Back next week.", friday).return_date == date(2026, 3, 9)
    assert return_date("Back tomorrow.", friday).return_date == date(2026, 3, 7)


@pytest.mark.parametrize("written, expected", [
    # 23:30 on 9 March in California is 07:30 UTC on 10 March: the sender's tomorrow is 10 March
    (datetime(2026, 3, 9, 23, 30, tzinfo=timezone(timedelta(hours=-7))), date(2026, 3, 10)),
    # 01:00 on 11 March in Auckland is 12:00 UTC on 10 March: the sender's tomorrow is 12 March
    (datetime(2026, 3, 11, 1, 0, tzinfo=timezone(timedelta(hours=13))), date(2026, 3, 12)),
    # "-0000" is local time with an unknown offset: the date as written
    ("Tue, 10 Mar 2026 13:00:00 -0000", date(2026, 3, 11)),
])
def test_the_messages_day_is_its_local_date_in_its_own_offset(written, expected):
    assert return_date("Back tomorrow.", written).return_date == expected


def test_a_message_processed_long_after_it_was_written():
    written = datetime(2025, 12, 19, 16, 5, tzinfo=timezone(timedelta(hours=1)))  # nearly three months before NOW
    result = return_date("Out of the office for the holidays, back on 5 January.", written)
    assert result.return_date == date(2026, 1, 5)  # not 5 January 2027
    assert "dates read relative to the message's Date (2025-12-19)" in result.reasons


def test_a_year_less_date_across_new_year_is_next_year():
    written = datetime(2026, 12, 20, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    for now in (written + timedelta(minutes=2), datetime(2027, 2, 1, tzinfo=timezone.utc)):
        result = return_date("Away for the holidays. I will be back on 3 January.", written, now=now)
        assert result.return_date == date(2027, 1, 3)
    result = return_date("Zurück am 04.01.", written, now=written + timedelta(minutes=2))
    assert result.return_date == date(2027, 1, 4)


def test_a_stale_notice_across_new_year_is_last_year():
    written = datetime(2027, 1, 5, 9, 0, tzinfo=timezone.utc)
    result = return_date("I will be back on 28 December.", written, now=written + timedelta(minutes=1))
    assert result.return_date is None
    assert "stated return date 2026-12-28 is already past" in result.reasons


@pytest.mark.parametrize("written, body, expected", [
    (datetime(2028, 2, 20, 9, 0, tzinfo=timezone.utc), "I will be back on 29 February.", date(2028, 2, 29)),
    (datetime(2028, 2, 20, 9, 0, tzinfo=timezone.utc), "Zurück am 29.02.", date(2028, 2, 29)),
    (datetime(2028, 2, 20, 9, 0, tzinfo=timezone.utc), "Out until 28 February.", date(2028, 2, 29)),
    (datetime(2028, 2, 20, 9, 0, tzinfo=timezone.utc), "Out until 29 February.", date(2028, 3, 1)),
    (datetime(2028, 2, 29, 9, 0, tzinfo=timezone.utc), "Back tomorrow.", date(2028, 3, 1)),
    (datetime(2028, 2, 29, 9, 0, tzinfo=timezone.utc), "Back on 29 February.", date(2028, 2, 29)),
    (datetime(2028, 2, 29, 9, 0, tzinfo=timezone.utc), "Back on Monday.", date(2028, 3, 6)),
    (datetime(2028, 3, 5, 9, 0, tzinfo=timezone.utc), "Back on 29 February.", None),  # stale
    # A non-leap year: no 29 February within the coming year is no date, and never a crash.
    (datetime(2027, 2, 20, 9, 0, tzinfo=timezone.utc), "I will be back on 29 February.", None),
    (datetime(2027, 2, 20, 9, 0, tzinfo=timezone.utc), "Zurück am 29.02.", None),
    (datetime(2027, 2, 20, 9, 0, tzinfo=timezone.utc), "Back on 29 February 2027.", None),
    # In December 2027 the next 29 February is ten weeks ahead.
    (datetime(2027, 12, 20, 9, 0, tzinfo=timezone.utc), "Back on 29 February.", date(2028, 2, 29)),
])
def test_29_february(written, body, expected):
    assert return_date(body, written, now=written + timedelta(minutes=5)).return_date == expected


@pytest.mark.parametrize("date_header, reason", [
    (None, "no Date header: dates read relative to now (2026-03-10)"),
    ("yesterday, around noon", "unreadable Date header: dates read relative to now (2026-03-10)"),
    ("Tue, 31 Feb 2026 10:00:00 +0000", "unreadable Date header: dates read relative to now (2026-03-10)"),
    ("Tue, 10 Mar 2026 10:00:00 +9900", "unreadable Date header: dates read relative to now (2026-03-10)"),
    # more than a day after now: a sender clock running ahead, or a forged header
    ("Fri, 01 Jan 2027 10:00:00 +0000",
     "implausible Date header (2027-01-01T10:00:00+00:00): dates read relative to now (2026-03-10)"),
    ("Thu, 01 Jan 1970 00:00:00 +0000",
     "implausible Date header (1970-01-01T00:00:00+00:00): dates read relative to now (2026-03-10)"),
])
def test_a_missing_or_bogus_date_header_falls_back_to_now(date_header, reason):
    result = return_date("I will be back on 12 March. Out until Friday.", date_header)
    assert result.return_date == date(2026, 3, 14)  # until Friday 13 March: back the 14th
    assert reason in result.reasons


def test_a_date_header_a_few_hours_ahead_is_still_the_messages_day():
    """Clocks drift and zones confuse: up to a day after now is believed."""
    written = datetime(2026, 3, 11, 9, 0, tzinfo=timezone(timedelta(hours=1)))  # NOW + 17.5 hours
    assert return_date("Back tomorrow.", written).return_date == date(2026, 3, 12)


def test_now_may_be_a_date_or_naive_and_the_default_is_the_apps_clock():
    body = "Back tomorrow."
    assert return_date(body, None, now=date(2026, 3, 10)).return_date == date(2026, 3, 11)
    assert return_date(body, None, now=datetime(2026, 3, 10, 23, 0)).return_date == date(2026, 3, 11)
    assert classify_message(out_of_office(body, None)).return_date == date(2026, 3, 11)  # CLOCK is at NOW


# Every language the parser reads, in a realistic holiday notice written on Friday 18 December
# 2026: out until New Year's Day, back on Monday 4 January 2027 (no year written).
CHRISTMAS = datetime(2026, 12, 18, 17, 2, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize("language, body", [
    ("en", "Thank you for your email. I am away for the holidays until Friday 1 January and will be "
           "back in the office on Monday 4 January. For urgent matters please call our desk."),
    ("de", "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich 01.01. im Urlaub und ab dem "
           "4. Januar wieder im Büro. In dringenden Fällen wenden Sie sich bitte an meine Kollegen."),
    ("fr", "Merci pour votre message. Je suis absente jusqu'au 1er janvier inclus et serai de retour "
           "le lundi 4 janvier. Pour toute urgence, contactez le service client."),
    ("es", "Gracias por su mensaje. Estaré de vacaciones hasta el 1 de enero y regresaré a la oficina "
           "el lunes 4 de enero. Para asuntos urgentes, contacte con mi compañero."),
    ("it", "Grazie per il messaggio. Sarò in ferie fino al 1° gennaio compreso e rientrerò in ufficio "
           "lunedì 4 gennaio. Per urgenze contattare l'ufficio spedizioni."),
    ("nl", "Bedankt voor uw bericht. Ik ben met vakantie tot en met vrijdag 1 januari. Vanaf maandag "
           "4 januari ben ik weer op kantoor."),
    ("pt", "Obrigado pela sua mensagem. Estarei de férias até 1 de janeiro e retorno ao escritório na "
           "segunda-feira, 4 de janeiro. Para assuntos urgentes, contacte a minha equipa."),
])
def test_every_language_reads_a_year_less_return_across_new_year(language, body):
    for now in (CHRISTMAS + timedelta(minutes=1), datetime(2027, 6, 1, tzinfo=timezone.utc)):
        assert return_date(body, CHRISTMAS, now=now).return_date == date(2027, 1, 4), language


@pytest.mark.parametrize("language, body, expected", [
    ("en", "I am on leave and will return on Thursday 12 March.", date(2026, 3, 12)),
    ("de", "Ich bin bis Freitag, 13.03. nicht im Büro.", date(2026, 3, 14)),
    ("fr", "Je serai de retour le 16 mars.", date(2026, 3, 16)),
    ("es", "Estoy fuera de la oficina hasta el 11 de marzo.", date(2026, 3, 12)),
    ("it", "Rientrerò in ufficio il 17 marzo.", date(2026, 3, 17)),
    ("nl", "Ik ben afwezig tot en met 12 maart.", date(2026, 3, 13)),
    ("pt", "Estou de férias; retorno em 18 de março.", date(2026, 3, 18)),
])
def test_every_language_reads_a_date_in_the_days_after_the_message(language, body, expected):
    assert return_date(body, WRITTEN).return_date == expected
