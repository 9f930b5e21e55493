"""Demo data of the scoring feature: two years of *human* web and email engagement for the
demo contacts, then their scores, then (when it is quick) the predictive model.

The history follows how buying looks from a vendor's website: everyone opens an email or reads
a blog post now and then; people who are about to ask for a quote (the contacts whose first
deal opens later) read the pricing and product pages, click through and fill in a form in the
weeks before; some who never buy do the same research (tire-kickers), mostly on the blog and
case studies; and a few open leads are in that research phase right now. Machine opens and
clicks are not generated here: the scores never see them.
"""
from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select

from crm.contacts.models import Activity, Contact
from crm.deals.models import Deal
from crm.demo.services import DEMO_DOMAIN, EMAIL_SUBJECTS, business_moment
from crm.errors import ServiceError
from crm.extensions import db
from crm.scoring.models import ScoreEvent
from crm.scoring.predictive import train_from_crm
from crm.scoring.rules import get_settings
from crm.scoring.scores import recompute_all

SEED = 4242
SITE = f"https://www.{DEMO_DOMAIN}"
PRICING = [("/pricing", "Pricing"), ("/pricing/service-plans", "Service plans and pricing")]
PRODUCTS = [("/products/centrifugal-pumps", "Centrifugal pumps"), ("/products/control-valves", "Control valves"),
            ("/products/condition-monitoring", "Condition monitoring"), ("/products/dosing-pumps", "Dosing pumps")]
CONTENT = [("/blog/cavitation-explained", "Cavitation explained"),
           ("/blog/energy-audit-checklist", "Energy audit checklist"),
           ("/case-studies/brewery-energy-savings", "Case study: brewery energy savings"), ("/", "Home"),
           ("/about", "About us"), ("/careers", "Careers")]
FORMS = [("/contact", "Contact us"), ("/request-a-quote", "Request a quote")]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the small means used here.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _event(rng, contact_id, kind, at, page=None, subject=None):
    details = {"verdict": "human", "reason": "demo history", "source": "demo"}
    url = None
    if page is not None:
        url = SITE + page[0]
        details.update(url=url, title=page[1])
    if subject is not None:
        details["subject"] = subject
    return {"contact_id": contact_id, "kind": kind, "occurred_at": at, "url": url, "details": details}


def _browse(rng, contact_id, at, research: bool):
    """One visit: an email opened or a few pages read; research visits go for pricing/products."""
    roll = rng.random()
    if roll < 0.4:
        events = [_event(rng, contact_id, "email_opened", at, subject=rng.choice(EMAIL_SUBJECTS))]
        if research and rng.random() < 0.5:
            events.append(_event(rng, contact_id, "email_clicked", at + timedelta(minutes=1),
                                 page=rng.choice(PRODUCTS + PRICING)))
        return events
    pages = rng.randint(1, 4)
    pool = (PRICING * 2 + PRODUCTS * 2 + CONTENT) if research else (CONTENT * 3 + PRODUCTS + PRICING[:1])
    events = [_event(rng, contact_id, "page_viewed", at + timedelta(minutes=2 * i), page=rng.choice(pool))
              for i in range(pages)]
    if research and rng.random() < 0.12:
        events.append(_event(rng, contact_id, "form_submitted", at + timedelta(minutes=2 * pages),
                             page=rng.choice(FORMS)))
    return events


def _days_between(rng, start: datetime, end: datetime) -> date:
    span = max(0, (end - start).days)
    return (start + timedelta(days=rng.randint(0, span))).date()


def plan_events(contacts, first_deals: dict[int, datetime], now: datetime, rng: random.Random) -> list[dict]:
    rows = []
    for contact_id, created_at, tz, unsubscribed in contacts:
        tz = tz or "UTC"
        end = now - timedelta(hours=1)
        if created_at >= end:
            continue
        months = (end - created_at).days / 30.0
        # background interest, for everyone
        for _ in range(_poisson(rng, 0.35 * months)):
            at = business_moment(rng, _days_between(rng, created_at, end), tz)
            if created_at < at < end:
                rows += [e for e in _browse(rng, contact_id, at, research=False)
                         if not (unsubscribed and e["kind"].startswith("email"))]  # nobody mails them
        bursts = []
        deal_at = first_deals.get(contact_id)
        if deal_at is not None and rng.random() < 0.8:
            bursts.append((deal_at - timedelta(days=rng.randint(20, 60)), deal_at - timedelta(days=1)))
        elif deal_at is None and rng.random() < 0.12:  # tire-kickers: research, no purchase
            middle = created_at + (end - created_at) * rng.random()
            bursts.append((middle - timedelta(days=20), middle))
        if deal_at is None and rng.random() < 0.05:  # in the market right now
            bursts.append((now - timedelta(days=rng.randint(5, 20)), end))
        for start, stop in bursts:
            for _ in range(max(1, _poisson(rng, 4.5))):
                at = business_moment(rng, _days_between(rng, max(start, created_at), stop), tz)
                if created_at < at < end:
                    rows += [e for e in _browse(rng, contact_id, at, research=True)
                             if not (unsubscribed and e["kind"].startswith("email"))]
    return rows


def seed(actors, today, now) -> dict[str, int]:
    get_settings()
    contacts = db.session.execute(
        select(Contact.id, Contact.created_at, Contact.time_zone, Contact.unsubscribed).order_by(Contact.id)).all()
    if not contacts:
        return {}
    first_deals = dict(db.session.execute(
        select(Deal.contact_id, func.min(Deal.created_at)).where(Deal.contact_id.is_not(None))
        .group_by(Deal.contact_id)).all())
    rows = [r for r in plan_events(contacts, first_deals, now, random.Random(SEED)) if r["occurred_at"] < now]
    company_of = dict(db.session.execute(select(Contact.id, Contact.company_id)).all())
    if rows:
        db.session.execute(insert(Activity), [
            {"kind": r["kind"], "occurred_at": r["occurred_at"], "created_at": r["occurred_at"],
             "contact_id": r["contact_id"], "company_id": company_of.get(r["contact_id"]), "details": r["details"]}
            for r in rows])
        db.session.execute(insert(ScoreEvent), [
            {"contact_id": r["contact_id"], "kind": r["kind"], "url": r["url"], "occurred_at": r["occurred_at"]}
            for r in rows])
    result = recompute_all(now)
    counts = {"score events": len(rows), "scored contacts": result["contacts"]}
    counts.update(_train_if_quick(now))
    return counts


def _train_if_quick(now: datetime) -> dict[str, int]:
    """Train the model on the demo history; skipped (not failed) if it errs or is slow."""
    try:
        with db.session.begin_nested():
            train_from_crm(now)
    except ServiceError:
        return {"predictive models": 0}
    return {"predictive models": 1}
