"""``normalize_email``'s fast path for plain ASCII addresses answers exactly as email-validator.

The fast path (``crm.validation._plain_email``) accepts an address without asking
email-validator; it must never accept what email-validator refuses, and must give the very
normal form email-validator gives (lower-cased, as ``normalize_email`` always did). Checked
here against email-validator itself, on real-world-shaped addresses and on generated ones:
random text, random ASCII, and address-shaped strings built to hit every limit and rule
(label and address lengths, hyphens, special-use and numeric top-level domains, case).
"""
from __future__ import annotations

import string

import email_validator
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.validation import InvalidEmail, _plain_email, normalize_email


def reference(raw: str) -> str:
    """What ``normalize_email`` answered before the fast path: email-validator's verdict."""
    if raw is None or not str(raw).strip():
        return "error: email is required"
    try:
        return validate_email(str(raw).strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        return f"error: {exc}"


def ours(raw: str) -> str:
    """``normalize_email``'s verdict, with email-validator's own sentence for a refusal (the
    reader sees it translated; ``InvalidEmail.detail`` keeps the original)."""
    try:
        return normalize_email(raw)
    except InvalidEmail as exc:
        return f"error: {exc.detail}"


def check(raw: str) -> None:
    fast = _plain_email(raw.strip())
    expected = reference(raw)
    if fast is not None:
        assert not expected.startswith("error: "), f"fast path accepted {raw!r}, email-validator: {expected}"
        assert fast == expected
    assert ours(raw) == expected


DOMAIN_253 = ".".join(["x" * 63] * 3) + "." + "y" * 57 + ".com"
REAL_WORLD = [
    # accepted, and answered by the fast path
    "ana@iberia-valves.com", "Ana.Garcia+news@Iberia-Valves.COM", "o'brien@example.ie",
    "first.last@sub.example.co.uk", "user%tag@example.org", "{weird}|ok~@example.com",
    "j_doe-99@mail.company123.de", "x@y.io", "SALES@Example.Com", "info@acme.com",
    "  padded@example.com  ", "a.b.c.d@e.f.g.h.museum", "1234567890@123.example.com",
    "jose.garcia@empresa.com.mx", "rita.berger@ACME-SALES.com", "a@b.c", "#!$%&'*+/=?^_`{}|~-@example.org",
    "l" * 64 + "@example.com", "a@" + "d" * 63 + ".com",
    "a@" + DOMAIN_253,  # the longest domain, but 255 characters in all: refused, by email-validator
    "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".abcdef",  # 254 characters (the limit)
    # left to email-validator (accepted or refused)
    "a@b", "x@@y.com", "a@b@c.com", '"quoted@local"@example.com', "Name <name@example.com>",
    "josé@example.es", "a@exámple.es", "noat.example.com", "trailing.@example.com", ".lead@example.com",
    "dou..ble@example.com", "..@example.com", "a@-bad-.com", "a@", "@example.com", "a@example.",
    "a@.example.com", "a@example..com", "a@ab--cd.com", "a@xn--bcher-kva.ch", "a@xn--abc.com",
    "a@my--company.com", "a@abc--d.com", "a@example.123", "a@example.c0m", "a@localhost",
    "a@host.localhost", "a@printer.local", "a@foo.test", "a@x.invalid", "a@abc.onion", "a@1.in-addr.arpa",
    "a@example.TEST", "a@example.Local", "l" * 65 + "@example.com", "a@" + "d" * 64 + ".com",
    "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".abcdefg", "a@" + DOMAIN_253 + "m",
    "a b@example.com", "a@exa mple.com", "a@example.com\x00", "a\t@example.com", "a@[192.168.0.1]",
    "a@example_co.com", "a(comment)@example.com", "a@example.com.", "ﬁ@example.com", "a@EXAMPLE。com",
    "postmaster@example.com", "Postmaster@Example.com", "", "   ",
]


@pytest.mark.parametrize("address", REAL_WORLD)
def test_real_world_addresses(address):
    check(address)


def test_the_fast_path_answers_the_common_addresses():
    """Not a speed test: the plain addresses of a CRM really take the fast path."""
    assert _plain_email("Ana.Garcia+news@Iberia-Valves.COM") == "ana.garcia+news@iberia-valves.com"
    assert _plain_email("rita.berger@acme-sales.com") == "rita.berger@acme-sales.com"
    for refused in ("a@localhost", "a@foo.test", "a@ab--cd.com", "josé@example.es", "a@b"):
        assert _plain_email(refused) is None


def test_the_special_use_list_is_read_from_email_validator(monkeypatch):
    monkeypatch.setattr(email_validator, "SPECIAL_USE_DOMAIN_NAMES",
                        [*email_validator.SPECIAL_USE_DOMAIN_NAMES, "corp.example"])
    assert _plain_email("a@mail.corp.example") is None
    assert _plain_email("a@corp.example") is None
    assert _plain_email("a@notcorp.example") == "a@notcorp.example"


ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
LDH = string.ascii_letters + string.digits + "-"
NASTY = ".@-_ \t\"()<>[]\\,;:é\u00ad\u200b。ＡＢ\x00\x7f"
SPECIALS = ["arpa", "invalid", "local", "localhost", "onion", "test", "TEST", "Local", "example"]


def _sometimes(draw) -> bool:
    return draw(st.sampled_from([False, False, False, True]))


@st.composite
def address_shaped(draw) -> str:
    """Mostly valid plain addresses, each rule broken now and then, and lengths near every limit."""
    long_ = _sometimes(draw)
    atom = st.text(alphabet=ATEXT + (NASTY if _sometimes(draw) else ""), min_size=0 if _sometimes(draw) else 1,
                   max_size=70 if long_ else 8)
    local = ".".join(draw(st.lists(atom, min_size=1, max_size=4)))
    inner = LDH + (NASTY if _sometimes(draw) else "")
    edge = string.ascii_letters + string.digits + ("-" if _sometimes(draw) else "")
    label = st.builds(lambda first, middle, last: first + middle + last,
                      st.text(alphabet=edge, min_size=0 if _sometimes(draw) else 1, max_size=1),
                      st.text(alphabet=inner, max_size=66 if long_ else 5),
                      st.text(alphabet=edge, max_size=1))
    labels = draw(st.lists(label, min_size=0 if _sometimes(draw) else 1, max_size=6 if long_ else 3))
    tld = draw(st.one_of(st.text(alphabet=string.ascii_letters, min_size=1, max_size=64 if long_ else 6),
                         st.sampled_from(SPECIALS), st.text(alphabet=LDH, max_size=4)))
    at = "@" if not _sometimes(draw) else draw(st.sampled_from(["@@", "", "@x@", " @"]))
    around = "" if not _sometimes(draw) else draw(st.sampled_from([" ", "\t", "\n", "\x00", "é", "."]))
    return f"{around}{local}{at}{'.'.join([*labels, tld])}{around if _sometimes(draw) else ''}"


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(address_shaped())
def test_generated_address_shaped_strings(address):
    check(address)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=80))
def test_generated_ascii_strings(text):
    check(text)


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_generated_unicode_strings(local, domain):
    check(f"{local}@{domain}")
    check(local)
