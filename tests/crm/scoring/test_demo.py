"""The scoring demo's engagement history: deterministic, only in the past, no email events
for unsubscribed people, and buyers research (pricing, products, forms) before their deal."""
from __future__ import annotations

import random
from datetime import timedelta

from crm.scoring.demo import plan_events
from tests.conftest import NOW


def _contacts(n=300):
    return [(i, NOW - timedelta(days=600), "Europe/Berlin", i % 10 == 0) for i in range(1, n + 1)]


def test_plan_is_deterministic_and_in_the_past():
    deals = {i: NOW - timedelta(days=100 + i) for i in range(1, 301, 5)}
    first = plan_events(_contacts(), deals, NOW, random.Random(1))
    assert first == plan_events(_contacts(), deals, NOW, random.Random(1))
    assert all(e["occurred_at"] < NOW for e in first)
    assert all(e["details"]["verdict"] == "human" for e in first)
    unsubscribed = {c for c, *_rest, unsub in _contacts() if unsub}
    assert not [e for e in first if e["contact_id"] in unsubscribed and e["kind"].startswith("email")]
    assert {e["kind"] for e in first} >= {"page_viewed", "email_opened", "email_clicked", "form_submitted"}


def test_buyers_read_pricing_before_their_deal():
    deal_at = NOW - timedelta(days=200)
    deals = {i: deal_at for i in range(1, 301) if i % 3 == 0}
    events = plan_events(_contacts(), deals, NOW, random.Random(2))

    def pricing_before(contact_id):
        return sum(1 for e in events if e["contact_id"] == contact_id and e["url"] and "/pricing" in e["url"]
                   and deal_at - timedelta(days=60) <= e["occurred_at"] < deal_at)

    buyers = [pricing_before(i) for i in deals]
    others = [pricing_before(i) for i in range(1, 301) if i not in deals]
    assert sum(buyers) / len(buyers) > 3 * (sum(others) / len(others))
