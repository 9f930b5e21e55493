"""Who made a tracking event: a person, a privacy proxy, a security scanner, or a repeat.

Pure functions, no database: the ingest path and ``recompute_verdicts`` feed them the facts
of one event plus the events that came before it for the same email (or the same visitor),
so changing a rule here and recomputing gives every stored event its new verdict.

The rules, first match wins (the reason string is stored with the event):

1. ``scanner``  – a HEAD request (people's browsers and mail clients GET).
2. ``scanner``  – a known security gateway or HTTP library user agent (Barracuda, Mimecast,
   Proofpoint, Microsoft Safe Links/ATP, Cisco/IronPort, Symantec, Trend Micro, Forcepoint,
   python-requests, curl, wget, Go-http-client, Java, libwww-perl, okhttp, bots/crawlers).
3. ``scanner``  – an address in a known scanner range (Microsoft's Safe Links datacentres,
   Mimecast, Proofpoint, Barracuda; see ``SCANNER_NETWORKS``).
4. ``privacy_proxy`` – an *open* fetched by a mail provider's image proxy: Gmail's
   ``GoogleImageProxy``, Yahoo's ``YahooMailProxy``, or Apple Mail Privacy Protection (an
   Apple address, 17.0.0.0/8, or Apple Mail's bare WebKit user agent without a browser
   token, which is what MPP's relay presents). Apple Mail with MPP turned off looks the same
   from the user agent alone: we would rather miss a real open than score a machine one.
5. ``scanner``  – a *click* less than ``click_after_delivery_seconds`` (10 s) after the email
   was delivered: nobody reads and clicks that fast, gateways do.
6. ``scanner``  – a *click* within ``same_second_window`` (1 s) of a click on a *different*
   link of the same email: a gateway opening every link at once.
7. ``duplicate`` – the same kind of event on the same link / email / page by the same
   address and user agent within ``duplicate_window_seconds`` (60 s) of an earlier one
   (reloads, clients fetching the pixel twice).
8. ``human``   – everything else.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Sequence

HUMAN, PRIVACY_PROXY, SCANNER, DUPLICATE = "human", "privacy_proxy", "scanner", "duplicate"

SCANNER_AGENTS = (
    "barracuda", "mimecast", "proofpoint", "safelinks", "safe links", "microsoft office protection",
    "ms-office", "bingpreview", "ironport", "cisco", "symantec", "messagelabs", "trendmicro",
    "trend micro", "forcepoint", "sophos", "fortinet", "zscaler", "checkpoint", "paloalto",
    "python-requests", "python-urllib", "aiohttp", "httpx", "curl/", "wget/", "go-http-client",
    "java/", "apache-httpclient", "libwww-perl", "okhttp", "scrapy", "headlesschrome-bot",
    "bot/", "bot;", "crawler", "spider", "slurp", "facebookexternalhit", "linkchecker",
)
PROXY_AGENTS = (("googleimageproxy", "Gmail image proxy"), ("ggpht.com", "Gmail image proxy"),
                ("yahoomailproxy", "Yahoo mail proxy"))
APPLE_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)
# Apple Mail's WebKit with nothing after "(KHTML, like Gecko)": what MPP's relay sends.
APPLE_MAIL_BARE_UA = re.compile(r"^Mozilla/5\.0 \([^)]*\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\)$")
SCANNER_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "40.92.0.0/15", "40.107.0.0/16", "52.100.0.0/14", "104.47.0.0/17",  # Microsoft EOP / Safe Links
    "205.139.110.0/24", "207.211.30.0/24", "170.10.128.0/20",           # Mimecast
    "148.163.128.0/19", "67.231.144.0/20", "208.84.64.0/21",             # Proofpoint
    "64.235.144.0/20", "209.222.80.0/21",                                # Barracuda
))


@dataclass(frozen=True)
class Rules:
    click_after_delivery_seconds: float = 10.0
    same_second_window: float = 1.0
    duplicate_window_seconds: float = 60.0


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class EventFacts:
    """What one request told us. ``target`` identifies what was hit: the link token for
    clicks, the email for opens, the page URL for page views."""

    kind: str
    occurred_at: datetime
    method: str = "GET"
    ip: str | None = None
    user_agent: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class Context:
    """When the email was delivered (None for page views) and the other events of the same
    email or visitor, any order."""

    delivered_at: datetime | None = None
    earlier: Sequence[EventFacts] = field(default_factory=tuple)
    # Events after this one (only when recomputing): the first click of a burst is a
    # scanner's too.
    later: Sequence[EventFacts] = field(default_factory=tuple)


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str

    @property
    def is_human(self) -> bool:
        return self.verdict == HUMAN


def classify(event: EventFacts, context: Context = Context(), rules: Rules = DEFAULT_RULES) -> Verdict:
    """The verdict on one event (see the module docstring for the rules, in order)."""
    for rule in (_head_request, _scanner_agent, _scanner_network, _privacy_proxy):
        verdict = rule(event)
        if verdict:
            return verdict
    if event.kind == "email_clicked":
        verdict = _too_fast(event, context, rules) or _burst(event, context, rules)
        if verdict:
            return verdict
    return _duplicate(event, context, rules) or Verdict(HUMAN, "no machine signal")


def _head_request(event: EventFacts) -> Verdict | None:
    if event.method.upper() == "HEAD":
        return Verdict(SCANNER, "HEAD request")
    return None


def _scanner_agent(event: EventFacts) -> Verdict | None:
    agent = (event.user_agent or "").lower()
    if not agent.strip():
        return Verdict(SCANNER, "no user agent")
    for marker in SCANNER_AGENTS:
        if marker in agent:
            return Verdict(SCANNER, f"scanner user agent ({marker.strip('/;')})")
    return None


def parse_ip(value: str | None):
    try:
        return ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None


def _in(networks: Iterable, address) -> bool:
    if address is None:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in networks)


def _scanner_network(event: EventFacts) -> Verdict | None:
    if _in(SCANNER_NETWORKS, parse_ip(event.ip)):
        return Verdict(SCANNER, "scanner IP range")
    return None


def _privacy_proxy(event: EventFacts) -> Verdict | None:
    if event.kind != "email_opened":
        return None  # proxies fetch images; a click through iCloud Private Relay is a person
    agent = event.user_agent or ""
    for marker, name in PROXY_AGENTS:
        if marker in agent.lower():
            return Verdict(PRIVACY_PROXY, name)
    if _in(APPLE_NETWORKS, parse_ip(event.ip)):
        return Verdict(PRIVACY_PROXY, "Apple Mail Privacy Protection (Apple address)")
    if APPLE_MAIL_BARE_UA.match(agent.strip()):
        return Verdict(PRIVACY_PROXY, "Apple Mail Privacy Protection (user agent)")
    return None


def _too_fast(event: EventFacts, context: Context, rules: Rules) -> Verdict | None:
    if context.delivered_at is None:
        return None
    seconds = (event.occurred_at - context.delivered_at).total_seconds()
    if seconds < rules.click_after_delivery_seconds:
        return Verdict(SCANNER, f"clicked {max(seconds, 0):.0f} s after delivery")
    return None


def _burst(event: EventFacts, context: Context, rules: Rules) -> Verdict | None:
    for other in (*context.earlier, *context.later):
        if other.kind != "email_clicked" or other.target == event.target:
            continue
        if abs((event.occurred_at - other.occurred_at).total_seconds()) <= rules.same_second_window:
            return Verdict(SCANNER, "several links clicked in the same second")
    return None


def _duplicate(event: EventFacts, context: Context, rules: Rules) -> Verdict | None:
    for other in context.earlier:
        if (other.kind, other.target, other.ip, other.user_agent) != (
                event.kind, event.target, event.ip, event.user_agent):
            continue
        gap = (event.occurred_at - other.occurred_at).total_seconds()
        if 0 <= gap <= rules.duplicate_window_seconds:
            return Verdict(DUPLICATE, f"repeat within {rules.duplicate_window_seconds:.0f} s")
    return None
