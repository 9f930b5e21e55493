"""Demo data of the tracking feature: the demo website as a tracked origin, IP ranges for the
biggest demo companies (documentation address blocks, so nothing real), this week's anonymous
visits from those companies (the "companies on the site" page), and the machine traffic every
sent email attracts (Apple MPP and Gmail proxy opens, link scanners) next to a few real opens,
so the contact panel shows both, marked. Nothing is sent and nobody is emailed.

Runs before scoring's demo, which writes the long human history; the human events here go
through the same path as live ones (scores, alerts), machine ones move nothing.
"""
from __future__ import annotations

import ipaddress
import random
from datetime import datetime, timedelta

from sqlalchemy import select

from crm.contacts.models import Company, Contact
from crm.demo.services import DEMO_DOMAIN
from crm.extensions import db
from crm.signals import sent_emails_requested
from crm.tracking.email import new_token
from crm.tracking.events import store_event
from crm.tracking.ipranges import network_keys
from crm.tracking.models import IpCompanyRange, TrackedOrigin, TrackingEvent, TrackingLink
from crm.tracking.visitors import find_or_create_visitor

SEED = 808
SITE = f"https://www.{DEMO_DOMAIN}"
PAGES = [("/", "Home"), ("/pricing", "Pricing"), ("/products/centrifugal-pumps", "Centrifugal pumps"),
         ("/products/control-valves", "Control valves"), ("/case-studies/brewery-energy-savings",
         "Case study: brewery energy savings"), ("/blog/cavitation-explained", "Cavitation explained"),
         ("/request-a-quote", "Request a quote"), ("/careers", "Careers")]
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
]
MACHINES = [
    ("email_opened", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
     "17.58.101.7", timedelta(seconds=40)),
    ("email_opened", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
     "66.249.84.21", timedelta(seconds=75)),
    ("email_clicked", "Mozilla/5.0 (compatible; Mimecast-URL-Protect/1.0)", "205.139.110.40", timedelta(seconds=4)),
]
NETWORKS = [ipaddress.ip_network(n) for n in ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24")]


def seed(actors, today, now) -> dict[str, int]:
    if db.session.scalar(select(TrackedOrigin.id).limit(1)) is not None:
        return {}  # seeded already
    rng = random.Random(SEED)
    db.session.add(TrackedOrigin(origin=SITE, created_at=now - timedelta(days=60)))
    ranges = _ip_ranges(now)
    views = _company_visits(rng, ranges, now)
    emails = _email_traffic(rng, now)
    db.session.flush()
    return {"tracked origins": 1, "IP ranges": len(ranges), "page views": views, "email tracking events": emails}


def _ip_ranges(now: datetime) -> list[IpCompanyRange]:
    """One IPv4 /27 (and an IPv6 /48 for every third) for the 24 biggest demo companies."""
    companies = db.session.scalars(
        select(Company).where(Company.domain.is_not(None))
        .order_by(Company.employee_count.desc().nulls_last(), Company.id).limit(24)).all()
    subnets = [s for network in NETWORKS for s in network.subnets(new_prefix=27)]
    rows = []
    for i, (company, subnet) in enumerate(zip(companies, subnets)):
        nets = [subnet] + ([ipaddress.ip_network(f"2001:db8:{i + 1:x}::/48")] if i % 3 == 0 else [])
        for net in nets:
            start, end = network_keys(net)
            rows.append(IpCompanyRange(start_key=start, end_key=end, cidr=str(net), company_name=company.name,
                                       domain=company.domain, imported_at=now - timedelta(days=30)))
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _company_visits(rng: random.Random, ranges: list[IpCompanyRange], now: datetime) -> int:
    count = 0
    v4 = [r for r in ranges if ":" not in r.cidr]
    for r in rng.sample(v4, k=min(14, len(v4))):
        hosts = list(ipaddress.ip_network(r.cidr).hosts())
        for v in range(rng.randint(1, 3)):
            visitor = find_or_create_visitor(f"demo{r.id:04d}{v:02d}{rng.getrandbits(40):012x}", now)
            at = now - timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 9), minutes=rng.randint(0, 59))
            agent, ip = rng.choice(BROWSERS), str(rng.choice(hosts))
            for page, title in rng.sample(PAGES, k=rng.randint(1, 5)):
                at += timedelta(minutes=rng.randint(1, 6))
                if at >= now:
                    break
                store_event(TrackingEvent(
                    kind="page_viewed", occurred_at=at, visitor_id=visitor.id, url=SITE + page, title=title,
                    label=page, ip=ip, user_agent=agent, method="GET",
                    high_value=page in ("/pricing", "/request-a-quote"),
                    company_name=r.company_name, company_domain=r.domain))
                count += 1
    return count


def _email_traffic(rng: random.Random, now: datetime) -> int:
    """Emails the outbox sent this week when mail's demo made some; otherwise a pretend email
    per contact (no outbox row), so the panel still shows what machines do to every email."""
    answers = sent_emails_requested.send(None, since=now - timedelta(days=7), limit=80)
    sent = [row for _receiver, rows in answers for row in rows or ()]
    if not sent:
        contacts = db.session.scalars(select(Contact.id).where(Contact.unsubscribed.is_(False))
                                      .order_by(Contact.id).limit(400)).all()
        sent = [(None, cid, "Pump efficiency check-in",
                 now - timedelta(days=rng.randint(1, 6), hours=rng.randint(1, 8)))
                for cid in rng.sample(list(contacts), k=min(40, len(contacts)))]
    count = 0
    for email_id, contact_id, subject, sent_at in sent:
        link = TrackingLink(token=new_token(), kind="open", outbound_email_id=email_id, contact_id=contact_id)
        db.session.add(link)
        db.session.flush()
        for kind, agent, ip, delay in MACHINES:
            if rng.random() < (0.45 if kind == "email_opened" else 0.2):
                count += _email_event(link, kind, sent_at + delay, agent, ip, subject, sent_at, now)
        if rng.random() < 0.3:
            at = sent_at + timedelta(hours=rng.randint(1, 20), minutes=rng.randint(0, 59))
            count += _email_event(link, "email_opened", at, rng.choice(BROWSERS), "203.0.113.200",
                                  subject, sent_at, now)
    return count


def _email_event(link, kind, at, agent, ip, subject, sent_at, now) -> int:
    if at >= now:
        return 0
    store_event(TrackingEvent(
        kind=kind, occurred_at=at, contact_id=link.contact_id, outbound_email_id=link.outbound_email_id,
        link_id=link.id, url=f"{SITE}/pricing" if kind == "email_clicked" else None,
        label=f"'{subject}'", ip=ip, user_agent=agent, method="GET"), delivered=sent_at, subject=subject)
    return 1
