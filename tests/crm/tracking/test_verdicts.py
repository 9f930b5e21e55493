"""Each verdict rule of crm/tracking/verdicts.py, on its own."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm.tracking.verdicts import Context, EventFacts, Rules, classify
from tests.crm.tracking.conftest import APPLE_MPP, CHROME, GMAIL_PROXY

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
LATER = T0 + timedelta(hours=1)


def ev(kind="email_opened", at=LATER, ua=CHROME, ip="203.0.113.9", method="GET", target="email:1"):
    return EventFacts(kind=kind, occurred_at=at, method=method, ip=ip, user_agent=ua, target=target)


def test_a_person_opening_later_is_human():
    verdict = classify(ev(), Context(delivered_at=T0))
    assert (verdict.verdict, verdict.reason) == ("human", "no machine signal")


def test_head_requests_are_scanners():
    assert classify(ev(kind="email_clicked", method="HEAD"), Context(T0)).reason == "HEAD request"


@pytest.mark.parametrize("agent", [
    "Barracuda Sentinel (EE)", "Mimecast-URL-Protect/1.0", "Mozilla/5.0 Proofpoint URL Defense",
    "Microsoft Office Protection Service", "python-requests/2.32.3", "curl/8.5.0", "Wget/1.21",
    "Go-http-client/1.1", "",
])
def test_known_scanner_agents_and_no_agent_are_scanners(agent):
    verdict = classify(ev(kind="email_clicked", ua=agent, target="link:1"), Context(T0))
    assert verdict.verdict == "scanner", agent


def test_scanner_address_ranges():
    verdict = classify(ev(kind="email_clicked", ip="40.93.1.2", target="link:1"), Context(T0))
    assert (verdict.verdict, verdict.reason) == ("scanner", "scanner IP range")
    assert classify(ev(ip="::ffff:40.93.1.2"), Context(T0)).verdict == "scanner"  # IPv4-mapped


def test_apple_mpp_by_user_agent_or_address_and_gmail_proxy():
    assert classify(ev(ua=APPLE_MPP), Context(T0)).verdict == "privacy_proxy"
    assert classify(ev(ip="17.58.1.2"), Context(T0)).reason.startswith("Apple Mail Privacy Protection")
    assert classify(ev(ua=GMAIL_PROXY), Context(T0)).reason == "Gmail image proxy"


def test_privacy_proxy_rules_only_apply_to_opens():
    """A click through iCloud Private Relay (Apple address) is a person."""
    assert classify(ev(kind="email_clicked", ip="17.58.1.2", target="link:1"), Context(T0)).verdict == "human"


def test_a_click_seconds_after_delivery_is_a_scanner_but_not_an_open():
    fast = T0 + timedelta(seconds=3)
    assert classify(ev(kind="email_clicked", at=fast, target="link:1"), Context(T0)).reason == \
        "clicked 3 s after delivery"
    assert classify(ev(at=fast), Context(T0)).verdict == "human"
    slow = T0 + timedelta(seconds=11)
    assert classify(ev(kind="email_clicked", at=slow, target="link:1"), Context(T0)).verdict == "human"
    assert classify(ev(kind="email_clicked", at=slow, target="link:1"),
                    Context(T0), Rules(click_after_delivery_seconds=30)).verdict == "scanner"


def test_several_links_in_the_same_second_are_a_scanner_both_ways():
    first = ev(kind="email_clicked", target="link:1")
    second = ev(kind="email_clicked", at=LATER + timedelta(milliseconds=400), target="link:2")
    assert classify(second, Context(T0, earlier=[first])).reason == "several links clicked in the same second"
    assert classify(first, Context(T0, later=[second])).verdict == "scanner"
    # the same link twice is a repeat, not a burst; two links a minute apart are a person
    again = ev(kind="email_clicked", at=LATER + timedelta(milliseconds=400), target="link:1")
    assert classify(again, Context(T0, earlier=[first])).verdict == "duplicate"
    apart = ev(kind="email_clicked", at=LATER + timedelta(minutes=2), target="link:2")
    assert classify(apart, Context(T0, earlier=[first])).verdict == "human"


def test_duplicates_within_the_window_from_the_same_client():
    first = ev()
    assert classify(ev(at=LATER + timedelta(seconds=30)), Context(T0, earlier=[first])).verdict == "duplicate"
    assert classify(ev(at=LATER + timedelta(seconds=61)), Context(T0, earlier=[first])).verdict == "human"
    other_client = ev(at=LATER + timedelta(seconds=30), ip="198.51.100.7")
    assert classify(other_client, Context(T0, earlier=[first])).verdict == "human"


def test_machine_rules_win_over_duplicate():
    first = ev(ua=APPLE_MPP)
    assert classify(ev(ua=APPLE_MPP, at=LATER + timedelta(seconds=1)),
                    Context(T0, earlier=[first])).verdict == "privacy_proxy"


def test_page_views_have_no_delivery_rules():
    view = ev(kind="page_viewed", target="https://www.acme.example/pricing")
    assert classify(view, Context()).verdict == "human"
    assert classify(ev(kind="page_viewed", ua="Googlebot/2.1 (+http://www.google.com/bot.html)",
                       target="x"), Context()).verdict == "scanner"
