"""Plan the demo's customers: companies, their contacts, and the contacts' own timeline.

Pure planning: nothing here touches the database. ``seed.py`` writes the plans.
"""
from __future__ import annotations

import math
import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from crm.contacts.models import LIFECYCLE_STAGES
from crm.demo import catalog
from crm.demo.timing import business_moment, end_of_history, log_uniform, poisson

COMPANY_COUNT = 400
CONTACT_COUNT = 2000
MIN_EMPLOYEES, MAX_EMPLOYEES = 5, 20_000
US_AREA_CODES = {
    "America/New_York": (212, 646, 718, 617, 215), "America/Chicago": (312, 773, 214, 713, 612),
    "America/Toronto": (416, 647, 905), "America/Los_Angeles": (213, 310, 818, 415, 206),
    "America/Denver": (303, 720, 801), "America/Vancouver": (604, 778),
}
EMAIL_PATTERNS = (("{f}.{l}", 50), ("{fi}{l}", 20), ("{f}{li}", 8), ("{f}_{l}", 7), ("{l}.{f}", 8),
                  ("{f}", 7))


@dataclass(eq=False)
class CompanyPlan:
    name: str
    short: str
    domain: str
    industry: str
    buys: tuple[str, ...]
    employee_count: int
    country: catalog.Country
    owner_key: str
    created_at: datetime
    email_pattern: str
    contacts: list[ContactPlan] = field(default_factory=list)

    @property
    def size(self) -> float:
        """Company size on a 0..1 log scale (5 employees = 0, 20,000 = 1)."""
        return (math.log(self.employee_count) - math.log(MIN_EMPLOYEES)) / (
            math.log(MAX_EMPLOYEES) - math.log(MIN_EMPLOYEES))


@dataclass(eq=False)
class ContactPlan:
    email: str
    first_name: str
    last_name: str
    title: str
    senior: bool
    phone: str | None
    company: CompanyPlan
    time_zone: str | None
    do_not_contact: bool
    unsubscribed: bool
    linkedin_url: str | None
    x_url: str | None
    source: str
    created_at: datetime
    lifecycle_stage: str = "lead"

    @property
    def owner_key(self) -> str:
        return self.company.owner_key

    def promote(self, stage: str) -> None:
        """Move up the lifecycle, never down."""
        if LIFECYCLE_STAGES.index(stage) > LIFECYCLE_STAGES.index(self.lifecycle_stage):
            self.lifecycle_stage = stage


@dataclass(frozen=True)
class ActivityPlan:
    kind: str
    at: datetime
    contact: ContactPlan
    details: dict
    user_key: str


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights)[0]


def _titles(language: str, senior: bool) -> tuple[str, ...]:
    if language == "es":
        return catalog.SENIOR_TITLES_ES if senior else catalog.STAFF_TITLES_ES
    return catalog.SENIOR_TITLES if senior else catalog.STAFF_TITLES


def rep_time_zone(rep_key: str) -> str:
    return next(rep.time_zone for rep in catalog.REPS if rep.key == rep_key)


# --- companies --------------------------------------------------------------------------

def _company_word(rng: random.Random) -> str:
    middle = rng.choice(catalog.NAME_MIDDLES) if rng.random() < 0.3 else ""
    return rng.choice(catalog.NAME_STARTS) + middle + rng.choice(catalog.NAME_ENDS)


def _round_headcount(value: float) -> int:
    if value < 100:
        return int(round(value))
    digits = 10 ** (int(math.log10(value)) - 1)  # two significant digits, as data vendors list them
    return int(round(value / digits) * digits)


def plan_companies(rng: random.Random, start: date) -> list[CompanyPlan]:
    """400 companies across the territories; two thirds were already customers' prospects
    before the history window opens, the rest appear during it."""
    countries = catalog.COUNTRIES
    words: set[str] = set()
    domains: set[str] = set()
    companies = []
    while len(companies) < COMPANY_COUNT:
        word = _company_word(rng)
        if word in words:
            continue
        words.add(word)
        country = rng.choices(countries, weights=[c.weight for c in countries])[0]
        industry, descriptors, buys = rng.choice(catalog.INDUSTRIES)
        if country.language == "es":
            descriptors = catalog.INDUSTRY_WORDS_ES.get(industry, descriptors)
        descriptor = rng.choice(descriptors) if rng.random() < 0.6 else ""
        legal = rng.choice(country.legal_forms)
        domain = f"{slug(word)}.{country.tld}"
        if domain in domains:
            domain = f"{slug(word)}-{slug(descriptor or industry.split()[0])}.{country.tld}"
        domains.add(domain)
        if rng.random() < 0.65:
            created_day = start - timedelta(days=rng.randint(1, 540))
        else:
            created_day = start + timedelta(days=rng.randint(0, 660))
        companies.append(CompanyPlan(
            name=" ".join(part for part in (word, descriptor, legal) if part),
            short=" ".join(part for part in (word, descriptor) if part),
            domain=domain, industry=industry, buys=buys,
            employee_count=_round_headcount(log_uniform(rng, MIN_EMPLOYEES, MAX_EMPLOYEES)),
            country=country, owner_key=country.territory,
            created_at=business_moment(rng, created_day, rep_time_zone(country.territory)),
            email_pattern=weighted(rng, EMAIL_PATTERNS),
        ))
    return companies


# --- contacts ---------------------------------------------------------------------------

def _contacts_per_company(companies: list[CompanyPlan]) -> list[int]:
    """Bigger companies have more known people: at least one each, the rest shared by
    headcount**0.3 (largest remainder), so the total is exactly CONTACT_COUNT."""
    weights = [c.employee_count ** 0.3 for c in companies]
    spare = CONTACT_COUNT - len(companies)
    shares = [spare * w / sum(weights) for w in weights]
    counts = [1 + int(s) for s in shares]
    by_remainder = sorted(range(len(companies)), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    for i in by_remainder[: CONTACT_COUNT - sum(counts)]:
        counts[i] += 1
    return counts


def _phone(rng: random.Random, country: catalog.Country) -> str | None:
    if rng.random() < 0.15:
        return None
    if country.phone_code == "+1":
        # 555-0100..0199 are reserved for fiction: no real line gets dialled from the demo.
        return f"+1 {rng.choice(US_AREA_CODES[country.time_zone])} 555-01{rng.randint(0, 99):02d}"
    return f"{country.phone_code} {rng.randint(20, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def _email(rng: random.Random, company: CompanyPlan, first: str, last: str, taken: set[str]) -> str:
    first_slug, last_slug = slug(first), slug(last)
    if company.employee_count < 60 and rng.random() < 0.25:
        local = f"{first_slug}.{last_slug}{rng.randint(10, 99)}"
        domain = rng.choice(catalog.FREEMAIL[company.country.names])
    else:
        local = company.email_pattern.format(f=first_slug, l=last_slug, fi=first_slug[:1], li=last_slug[:1])
        domain = company.domain
    email, n = f"{local}@{domain}", 2
    while email in taken:
        email, n = f"{local}{n}@{domain}", n + 1
    taken.add(email)
    return email


def _contact(rng: random.Random, company: CompanyPlan, first_of_company: bool, taken: set[str],
             end: datetime) -> ContactPlan:
    names = company.country.names
    first, last = rng.choice(catalog.FIRST_NAMES[names]), rng.choice(catalog.LAST_NAMES[names])
    senior = first_of_company or rng.random() < 0.25
    span = max(1, int((end - company.created_at).days * 0.9))
    created_day = company.created_at.date() + timedelta(
        days=0 if first_of_company else rng.randint(0, span))
    has_linkedin = rng.random() < 0.7
    return ContactPlan(
        email=_email(rng, company, first, last, taken), first_name=first, last_name=last,
        title=rng.choice(_titles(company.country.language, senior)), senior=senior,
        phone=_phone(rng, company.country), company=company,
        time_zone=company.country.time_zone if rng.random() < 0.85 else None,
        do_not_contact=rng.random() < 0.02, unsubscribed=rng.random() < 0.04,
        linkedin_url=(f"https://www.linkedin.com/in/{slug(first)}-{slug(last)}-{rng.randrange(16**6):06x}"
                      if has_linkedin else None),
        x_url=f"https://x.com/{slug(first)}{slug(last)[:5]}" if rng.random() < 0.08 else None,
        source=weighted(rng, catalog.CONTACT_SOURCES),
        created_at=max(company.created_at,
                       business_moment(rng, created_day, rep_time_zone(company.owner_key))),
    )


def plan_contacts(rng: random.Random, companies: list[CompanyPlan], today: date) -> list[ContactPlan]:
    end = end_of_history(today) - timedelta(days=2)
    taken: set[str] = set()
    contacts = []
    for company, count in zip(companies, _contacts_per_company(companies)):
        for i in range(count):
            contact = _contact(rng, company, i == 0, taken, end)
            company.contacts.append(contact)
            contacts.append(contact)
    return contacts


def assign_base_lifecycle(rng: random.Random, contacts: list[ContactPlan]) -> None:
    """Marketing's view before sales touched them; deals promote their people later."""
    for contact in contacts:
        contact.lifecycle_stage = weighted(rng, (("lead", 55), ("mql", 30), ("sql", 15)))


# --- the contacts' own timeline (outside any deal) --------------------------------------

ACTIVITY_RATE = {"lead": 1.5, "mql": 3.0, "sql": 4.0, "opportunity": 4.0, "customer": 5.0}


def contact_activity(rng: random.Random, kind: str, contact: ContactPlan, at: datetime) -> ActivityPlan:
    details: dict
    if kind == "email_sent":
        details = {"subject": rng.choice(catalog.EMAIL_SUBJECTS)}
    elif kind == "call":
        outcome = weighted(rng, (("connected", 45), ("voicemail", 35), ("no_answer", 20)))
        details = {"outcome": outcome,
                   "duration_s": rng.randint(120, 1500) if outcome == "connected" else rng.randint(10, 60)}
    elif kind == "meeting_held":
        details = {"title": rng.choice(catalog.MEETING_TITLES), "duration_min": rng.choice((30, 45, 60))}
    else:
        details = {"body": rng.choice(catalog.NOTES)}
    return ActivityPlan(kind, at, contact, details, contact.owner_key)


def plan_contact_activities(
    rng: random.Random, contacts: list[ContactPlan], today: date,
) -> list[ActivityPlan]:
    """Prospecting touches over the two years, more for contacts further down the funnel;
    nobody on do-not-contact is called or mailed, nobody unsubscribed is mailed."""
    end = end_of_history(today)
    activities = []
    for contact in contacts:
        span_days = (end - contact.created_at).days - 2
        if span_days < 1:
            continue
        kinds = [("email_sent", 0 if contact.unsubscribed or contact.do_not_contact else 50),
                 ("call", 0 if contact.do_not_contact else 25), ("note", 15), ("meeting_held", 10)]
        count = poisson(rng, ACTIVITY_RATE[contact.lifecycle_stage] * min(1.0, span_days / 365))
        for _ in range(count):
            day = contact.created_at.date() + timedelta(days=rng.randint(1, span_days))
            at = business_moment(rng, day, rep_time_zone(contact.owner_key))
            if contact.created_at < at < end:
                activities.append(contact_activity(rng, weighted(rng, kinds), contact, at))
    return activities
