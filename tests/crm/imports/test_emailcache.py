"""The import's faster email checks answer exactly as email-validator does."""
from __future__ import annotations

import pytest
from email_validator.syntax import split_email

from crm.imports.emailcache import memoized_domain_checks, plain_split
from crm.validation import normalize_email

ADDRESSES = [
    "ana@iberia-valves.com", "Ana.Garcia+news@Iberia-Valves.COM", "o'brien@example.ie", "a@b", "x@@y.com",
    "first.last@sub.example.co.uk", "user%tag@example.org", "{weird}|ok~@example.com", "a@b@c.com",
    '"quoted@local"@example.com', "Name <name@example.com>", "josé@example.es", "a@exámple.es",
    "noat.example.com", "trailing.@example.com", "..@example.com", "a@-bad-.com", "a@",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_plain_split_equals_the_original(address):
    fast = plain_split(split_email)
    try:
        expected = split_email(address)
    except Exception as exc:  # the same refusal
        with pytest.raises(type(exc)):
            fast(address)
    else:
        assert fast(address) == expected


@pytest.mark.parametrize("address", ADDRESSES)
def test_normalize_email_gives_the_same_answer_inside_the_import(address):
    def outcome():
        try:
            return normalize_email(address)
        except ValueError as exc:
            return f"error: {exc}"

    plain = outcome()
    with memoized_domain_checks():
        assert outcome() == plain
