"""``transport.quote_address``: what ``smtplib.quoteaddr`` gives, without its parse for the
plain addresses the app stores."""
from __future__ import annotations

import smtplib

from hypothesis import given, settings
from hypothesis import strategies as st

from crm.mail.transport import quote_address

LOCAL = st.text(alphabet="abcXYZ09.!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=20)
DOMAIN = st.text(alphabet="abcXYZ09.-", min_size=1, max_size=20)


@settings(max_examples=500)
@given(LOCAL, DOMAIN)
def test_plain_addresses_quote_as_smtplib_quotes_them(local, domain):
    address = f"{local}@{domain}"
    assert quote_address(address) == smtplib.quoteaddr(address)


NEAR_MISS = st.text(alphabet="abc09.@<>()\"',;: \\[]_-+é", min_size=1, max_size=20)


@settings(max_examples=1000)
@given(NEAR_MISS, NEAR_MISS)
def test_addresses_with_any_special_character_quote_as_smtplib_quotes_them(local, domain):
    for value in (f"{local}@{domain}", local):
        assert quote_address(value) == smtplib.quoteaddr(value)


def test_display_names_and_brackets_are_left_to_smtplib():
    assert quote_address("Dana Scott <dana@globex-industries.com>") == "<dana@globex-industries.com>"
    assert quote_address("<>") == "<>"
    assert quote_address("dana@globex-industries.com") == "<dana@globex-industries.com>"
