"""Hostile and broken input: the classifier answers, never raises, never warns."""
from __future__ import annotations

import base64
import logging
import random
import warnings

import pytest

from crm.mail.inbound import InboundClassification, classify_message
from crm.mail.inbound import classify as classify_module
from tests.crm.mail.mailfactory import OWN, RECEIVED, build, fixture, fixture_names

CLASSES = {"reply", "auto_reply", "bounce", "unsubscribe_request", "other"}


def classify(raw) -> InboundClassification:
    result = classify_message(raw, own_addresses=OWN, now=RECEIVED)
    assert isinstance(result, InboundClassification)
    assert result.classification in CLASSES
    return result


@pytest.mark.parametrize("seed", range(20))
def test_random_bytes(seed):
    rng = random.Random(seed)
    classify(bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 17, 600, 20_000]))))


@pytest.mark.parametrize("seed", range(10))
def test_random_header_soup(seed):
    """Header-shaped garbage reaches deeper into the parser than random bytes do."""
    rng = random.Random(seed)
    names = ["From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Content-Type",
             "Auto-Submitted", "Content-Transfer-Encoding", "Return-Path"]
    alphabet = '<>@"(),;:=?\\ \t\r\n.-_abcXYZ019\x00\xff\xe9=?utf-8?q?'
    lines = [f"{rng.choice(names)}: {''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))}"
             for _ in range(rng.randint(1, 30))]
    classify(("\n".join(lines) + "\n\nbody\n").encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("name", fixture_names())
def test_truncated_fixtures(name):
    raw = fixture(name)
    for fraction in (0.05, 0.3, 0.5, 0.8, 0.97):
        classify(raw[: int(len(raw) * fraction)])


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n", b"\x00" * 100, b"From:\n\n", b"\n\n\n"])
def test_empty_and_nearly_empty(raw):
    assert classify(raw).classification == "other"


@pytest.mark.parametrize("raw", [None, bytearray(build()), memoryview(build()), build().decode()])
def test_other_input_types(raw):
    classify(raw)


def test_five_megabyte_message_with_an_attachment():
    attachment = base64.encodebytes(random.Random(1).randbytes(3_800_000)).decode()
    raw = (
        "From: Bob Keller <bob.keller@globex-industries.com>\nTo: alice.martin@acme-sales.com\n"
        "Subject: Re: Quick question\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
        "--XX\nContent-Type: text/plain; charset=utf-8\n\nPlease find our tender attached.\n"
        "--XX\nContent-Type: application/pdf; name=tender.pdf\nContent-Disposition: attachment\n"
        f"Content-Transfer-Encoding: base64\n\n{attachment}\n--XX--\n"
    ).encode()
    assert len(raw) >= 5_000_000
    result = classify(raw)
    assert result.classification == "reply"
    assert result.text == "Please find our tender attached."


def test_five_megabyte_text_body_is_read_in_part():
    raw = build("Yes, interested. " + "x" * 5_000_000)
    result = classify(raw)
    assert result.classification == "reply"
    assert len(result.text) <= 4000


def test_five_megabyte_header():
    raw = build(subject="Re: " + "A" * 5_000_000, References="<a@b.com> " * 200_000)
    result = classify(raw)
    assert len(result.subject) <= 998
    assert len(result.references) <= 100


def test_tens_of_thousands_of_mime_parts():
    """The stdlib parser needs ~0.3 ms per part; parsing stops at a bounded count."""
    parts = "".join("--B\nContent-Type: text/plain\n\nx\n" for _ in range(30_000))
    raw = (f"From: bob.keller@globex-industries.com\nSubject: Re: hi\nContent-Type: multipart/mixed; "
           f"boundary=B\n\n{parts}--B--\n").encode()
    result = classify(raw)
    assert any("MIME boundaries" in r for r in result.reasons)


def test_deeply_nested_multiparts():
    depth = 3000
    head = "".join(f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth))
    tail = "".join(f"--b{i}--\n" for i in reversed(range(depth)))
    raw = f"From: bob.keller@globex-industries.com\nSubject: Re: hi\n{head}Content-Type: text/plain\n\nhi\n{tail}"
    classify(raw.encode())


def test_control_characters_never_reach_the_result():
    raw = build("Hello\x00 there\x1b[31m", subject="Re: \x00hi\x9b",
                sender="B\x00ob <bob.keller@globex-industries.com>")
    result = classify(raw)
    for value in (result.subject, result.text, result.from_name):
        assert not any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F for c in value)


def test_eight_bit_headers_in_legacy_charsets():
    raw = "From: Jos\xe9 Garc\xeda <jose@tecnomadrid.es>\nSubject: Re: reuni\xf3n\n\nS\xed, el jueves.\n"
    raw = raw.encode("latin-1")
    result = classify(raw)
    assert result.subject == "Re: reunión"
    assert result.from_name == "José García"
    assert result.text == "Sí, el jueves."


def test_unparsable_address_header_falls_back_to_the_raw_value():
    """policy.default raises IndexError on this From; the raw header still gives the address."""
    result = classify(b'From: "Bob <bob.keller@globex-industries.com>, ,, "\nSubject: Re: x\n\nok\n')
    assert result.from_address == "bob.keller@globex-industries.com"


def test_no_warnings_on_any_fixture_or_garbage():
    samples = [fixture(name) for name in fixture_names()] + [b"\xff\xfe\x00garbage", b"Content-Type: multipart/x\n\n"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for raw in samples:
            classify(raw)
    assert caught == []


def test_internal_error_becomes_other_and_is_logged(monkeypatch, caplog):
    def explode(raw):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(classify_module, "parse_mail", explode)
    with caplog.at_level(logging.ERROR, logger="crm.mail.inbound.classify"):
        result = classify_message(build(), now=RECEIVED)
    assert result.classification == "other"
    assert result.reasons == ("internal error while classifying: RuntimeError",)
    assert "could not be classified" in caplog.text


def test_every_classification_is_logged_with_its_reasons(caplog):
    with caplog.at_level(logging.INFO, logger="crm.mail.inbound.classify"):
        classify(fixture("bounce_qmail.eml"))
    assert "classified bounce" in caplog.text and "hard" in caplog.text


def test_malformed_mime_is_logged_as_a_warning(caplog):
    with caplog.at_level(logging.INFO, logger="crm.mail.inbound.classify"):
        classify(fixture("reply_malformed_mime.eml"))
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_utf8_body_cut_inside_a_character_stays_utf8():
    """Only the first 200 KB of a body is read; the cut must not turn é into Ã©."""
    body = "Très bien!! " + "é" * 150_000  # 13 bytes, then 300 KB of two-byte characters
    raw = f"From: bob.keller@globex-industries.com\nSubject: Re: hi\n\n{body}\n".encode()
    text = classify(raw).text
    assert text.startswith("Très bien!! éé")
    assert "Ã" not in text
