"""Bounce formats one at a time: the cases issue 24 found misread, the real samples of each
format family in the public corpus, and what must never pass for a person's reply."""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from crm.mail.inbound import classify_message
from crm.mail.inbound.bounce_reasons import judge_failure
from tests.crm.mail.mailfactory import OWN, RECEIVED, build

SISIMAI = Path(__file__).resolve().parents[2] / "fixtures" / "bounces" / "sisimai"
LABELS = json.loads((SISIMAI / "labels.json").read_text(encoding="utf-8"))


def classify(raw: bytes):
    return classify_message(raw, own_addresses=OWN, now=RECEIVED)


def sample(name: str):
    return classify((SISIMAI / "emails" / name).read_bytes())


def text_bounce(body: str, *, subject: str = "failure notice",
                sender: str = "MAILER-DAEMON@mx.globex-industries.com", **headers: str) -> bytes:
    return build(body, subject=subject, sender=sender, message_id="<bounce.1@mx.globex-industries.com>", **headers)


# --- the formats the issue names ------------------------------------------------------------

QMAIL = """Hi. This is the qmail-send program at mx.globex-industries.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<h.vogel@globex-industries.com>:
{detail}

--- Below this line is a copy of the message.

Return-Path: <alice.martin@acme-sales.com>
Message-ID: <seq.17@mail.acme-sales.com>
"""


@pytest.mark.parametrize("detail, expected", [
    ("Sorry, no mailbox here by that name. (#5.1.1)", "hard"),
    ("192.0.2.7 does not like recipient.\nRemote host said: 550 5.1.1 <h.vogel@globex-industries.com>... "
     "User unknown\nGiving up on 192.0.2.7.", "hard"),
    ("This address no longer accepts mail.", "soft"),                     # suspended, not gone
    ("", "hard"),                                                          # "This is a permanent error" alone
    ("Remote host said: 552 5.2.2 Mailbox full", "soft"),
    ("Remote host said: 554 5.7.1 Message rejected as spam", "soft"),     # our message, not the address
])
def test_qmail_permanent_error(detail, expected):
    result = classify(text_bounce(QMAIL.format(detail=detail)))
    assert (result.classification, result.bounce_type) == ("bounce", expected), result.reasons
    assert result.bounced_recipients == ("h.vogel@globex-industries.com",)
    assert result.original_message_id == "<seq.17@mail.acme-sales.com>"


EXIM = """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  g.price@harbor-supplies.co.uk
    {detail}

------ This is a copy of the message, including all the headers. ------
"""


@pytest.mark.parametrize("detail, expected", [
    ("SMTP error from remote mail server after RCPT TO:<g.price@harbor-supplies.co.uk>:\n"
     "    550 5.1.1 <g.price@harbor-supplies.co.uk>: Recipient address rejected: User unknown", "hard"),
    ("Unrouteable address", "hard"),
    ("all hosts for 'harbor-supplies.co.uk' have been failing for a long time (and retry time not reached)", "soft"),
    ("SMTP error from remote mail server after end of data:\n    550 5.7.1 Message rejected due to content", "soft"),
    ("mailbox is full: retry timeout exceeded", "soft"),
])
def test_exim_permanent_error(detail, expected):
    raw = text_bounce(EXIM.format(detail=detail), subject="Mail delivery failed: returning message to sender",
                      sender="Mail Delivery System <Mailer-Daemon@mx.acme-sales.com>")
    result = classify(raw)
    assert (result.classification, result.bounce_type) == ("bounce", expected), result.reasons
    assert result.bounced_recipients == ("g.price@harbor-supplies.co.uk",)


def test_exchange_recipient_name_is_not_recognized_is_hard():
    body = ("Your message\n\n  To:      m.jansen@contoso-retail.com\n  Subject: Quick question\n\n"
            "did not reach some or all of the intended recipients.\n\n"
            "The following recipient(s) could not be reached:\n\n"
            "      m.jansen@contoso-retail.com on 25/11/2026 09:31\n"
            "            The recipient name is not recognized\n")
    result = classify(text_bounce(body, subject="Undeliverable: Quick question",
                                  sender="System Administrator <postmaster@contoso-retail.com>"))
    assert (result.classification, result.bounce_type) == ("bounce", "hard"), result.reasons
    assert result.bounced_recipients == ("m.jansen@contoso-retail.com",)


def test_groupwise_unknown_recipient_is_hard():
    body = ("The message that you sent was undeliverable to the following:\n"
            "\tr.ortiz@northwind-logistics.mx (Unknown Recipient)\n\n"
            "Possible causes: the address is incorrect or the mailbox was removed.\n")
    result = classify(text_bounce(body, subject="Message status - undeliverable",
                                  sender="Mail Delivery System <postmaster@northwind-logistics.mx>"))
    assert (result.classification, result.bounce_type) == ("bounce", "hard"), result.reasons
    assert result.bounced_recipients == ("r.ortiz@northwind-logistics.mx",)


@pytest.mark.parametrize("detail", [
    "553 sorry, no mailbox here by that name",
    "553 5.1.3 Requested action not taken: mailbox name not allowed",
    "553 <k.ito@globex-industries.com>",                                    # the code alone
])
def test_553_is_about_the_address(detail):
    body = f"Sorry, we were unable to deliver your message to the following address.\n\n" \
           f"<k.ito@globex-industries.com>:\nRemote host said: {detail} [RCPT_TO]\n"
    result = classify(text_bounce(body))
    assert (result.classification, result.bounce_type) == ("bounce", "hard"), result.reasons


def test_mailer_daemon_550_511_is_never_a_human_reply_even_threaded_with_a_quote():
    """The issue's worst case: a DSN-looking text from MAILER-DAEMON with reply cues."""
    body = ("550 5.1.1 <p.nowak@vistula-trade.pl>: unknown user\n\n"
            "> Hi Piotr, do you have 15 minutes on Thursday?\n")
    raw = text_bounce(body, subject="Re: Quick question", In_Reply_To="<seq.17@mail.acme-sales.com>",
                      sender="MAILER-DAEMON@vistula-trade.pl")
    result = classify(raw)
    assert (result.classification, result.bounce_type) == ("bounce", "hard"), result.reasons
    assert result.bounced_recipients == ("p.nowak@vistula-trade.pl",)


@pytest.mark.parametrize("sender", [
    "MAILER-DAEMON@mx.globex-industries.com", "Mail Delivery System <MAILER-DAEMON>", "MAILER-DAEMON <>",
    "postmaster@globex-industries.com", "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
])
def test_a_mail_system_message_without_a_failure_is_other_not_a_reply(sender):
    raw = build("Your message was received and is being processed.", subject="Re: Quick question",
                sender=sender, In_Reply_To="<seq.17@mail.acme-sales.com>")
    assert classify(raw).classification == "other"


def test_any_multipart_report_is_never_a_reply():
    raw = b"""From: Bob Keller <bob.keller@globex-industries.com>
To: alice.martin@acme-sales.com
Subject: Re: Quick question
In-Reply-To: <seq.17@mail.acme-sales.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=something-new; boundary="BB"

--BB
Content-Type: text/plain

Sounds good, call me on Thursday.
--BB--
"""
    assert classify(raw).classification == "other"


def test_null_sender_with_a_bounce_subject_is_a_bounce():
    raw = build("<gone@globex-industries.com>: 550 5.1.1 mailbox unavailable", subject="Undelivered Mail",
                sender="<>", Return_Path="<>")
    result = classify(raw)
    assert (result.classification, result.bounce_type) == ("bounce", "hard"), result.reasons


def test_a_complaint_report_is_other():
    raw = build("This is an email abuse report.", subject="complaint about message from 192.0.2.7",
                sender="staff@hotmail.com", X_HmXmrOriginalRecipient="bob.keller@globex-industries.com")
    assert classify(raw).classification == "other"


# --- list-relayed bounces and provider notices (real samples) ------------------------------

@pytest.mark.parametrize("name", ["lhost-googlegroups-01.eml", "lhost-googlegroups-05.eml", "lhost-fml-02.eml",
                                  "lhost-fml-03.eml"])
def test_list_relayed_bounces_are_soft_bounces(name):
    result = sample(name)
    assert (result.classification, result.bounce_type) == ("bounce", "soft"), result.reasons


def test_amazon_ses_notification_is_read_from_its_json():
    result = sample("lhost-amazonses-09.eml")
    assert (result.classification, result.bounce_type) == ("bounce", "hard"), result.reasons
    assert result.bounced_recipients and all("@" in a for a in result.bounced_recipients)


@pytest.mark.parametrize("name", ["lhost-exchange2003-01.eml", "lhost-exchange2003-02.eml",
                                  "lhost-exchange2007-01.eml", "lhost-domino-01.eml", "lhost-notes-02.eml"])
def test_exchange_and_notes_unknown_recipients_are_hard(name):
    result = sample(name)
    assert (result.classification, result.bounce_type) == ("bounce", LABELS[name]["bounce_type"]) == (
        "bounce", "hard"), result.reasons


# --- every format family of the corpus --------------------------------------------------------

FAMILIES = ("lhost-qmail", "lhost-exim", "lhost-postfix", "lhost-sendmail", "lhost-exchange2003",
            "lhost-exchange2007", "lhost-office365", "lhost-outlook", "lhost-gmail", "lhost-yahoo",
            "lhost-googlegroups", "lhost-fml", "lhost-domino", "lhost-notes", "rhost-google", "rhost-microsoft",
            "rhost-yahooinc", "rfc3464", "lhost-courier", "lhost-opensmtpd", "lhost-zoho", "lhost-gmx")


# Where we disagree with the corpus on purpose.
BY_DESIGN = {"lhost-sendmail-14.eml": "a person forwarding a bounce ('Fwd: Returned mail...') is their reply"}


def _by_family():
    families = defaultdict(list)
    for name in LABELS:
        families[re.sub(r"-\d+\.eml$", "", name)].append(name)
    return families


@pytest.mark.parametrize("family", FAMILIES)
def test_each_named_format_family_is_read_like_its_published_labels(family):
    names = _by_family()[family]
    assert names, f"no {family} samples in the corpus"
    bounce_ok = kind_ok = labelled = 0
    for name in names:
        result, label = sample(name), LABELS[name]
        bounce_ok += (result.classification == "bounce") == (label["classification"] == "bounce")
        if label["classification"] == "bounce":
            labelled += 1
            kind_ok += result.classification == "bounce" and result.bounce_type == label["bounce_type"]
            assert result.classification != "reply" or name in BY_DESIGN, f"{name}: a bounce came out as a reply"
    assert bounce_ok / len(names) >= 0.95, family
    assert kind_ok / labelled >= 0.8, family  # small families: one sample in six may differ


# --- hard or soft, one failure at a time ------------------------------------------------------

@pytest.mark.parametrize("status, text, hard", [
    ("5.1.1", "550 5.1.1 user unknown", True),
    ("5.1.2", "", True),                                                   # host unknown
    ("5.1.6", "", True),                                                   # mailbox moved
    (None, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found", True),
    (None, "554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org", False),
    (None, "550 5.7.26 Unauthenticated email is not accepted due to DMARC policy", False),
    ("5.2.2", "552 5.2.2 Mailbox full", False),
    ("5.3.4", "552 5.3.4 Message size exceeds fixed limit", False),
    ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled", False),
    ("4.4.1", "Connection timed out", False),
    (None, "Host or domain name not found. Name service error for name=nope.example type=A: Host not found",
     True),
    (None, "Host or domain name not found. Name service error: Host not found, try again", False),
    (None, "550 5.1.8 Sender address rejected: Domain not found", False),   # our sender, not the recipient
    (None, "550 5.0.0 User unknown (in reply to end of DATA command)", False),  # a content filter
    (None, "550 5.0.0 User unknown (in reply to RCPT TO command)", True),
    (None, "The recipient domain does not accept mail (nullMX)", True),
])
def test_judge_failure(status, text, hard):
    failure = judge_failure(status, text)
    assert failure.hard is hard, failure.why


def test_blank_lines_before_the_headers_do_not_hide_them():
    """Seen in a public sample (a DSN saved with an empty first line): the headers would
    otherwise become the body and the bounce a sender-less 'other'."""
    raw = b"\n   \n" + text_bounce(QMAIL.format(detail="Sorry, no mailbox here by that name. (#5.1.1)"))
    result = classify(raw)
    assert (result.classification, result.bounce_type) == ("bounce", "hard"), result.reasons
    assert "parse: blank lines before the headers removed" in result.reasons
