"""Read the seeded database into plain values the demo tests compare and learn from.

The suite empties every table after each test, so the seed tests take one snapshot per seed
and assert against it instead of against live rows.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import User
from crm.contacts.models import Activity, Company, Contact
from crm.deals.models import Deal, DealChange, DealLine, ProductFamily, Stage
from crm.extensions import db
from crm.money.models import ExchangeRate
from crm.money.services import base_currency
from crm.public import missing_exchange_rates

ENGAGEMENT_KINDS = ("call", "email_sent", "meeting_held", "note")


@dataclass
class DealFacts:
    name: str
    status: str
    stage: str
    expected_close: str
    amount: str
    lines: list
    created_at: datetime
    stage_entered_at: datetime
    closed_on: date | None
    lost_reason: str | None
    employee_count: int
    currency: str = ""
    engagement: int = 0
    changes: list[tuple] = field(default_factory=list)  # (field, old, new, changed_at, by email)


@dataclass
class Snapshot:
    users: list[tuple]  # (email, role, manager email, time zone)
    companies: list[tuple]
    contacts: list[tuple]
    families: list[tuple]
    stages: list[tuple]
    deals: list[DealFacts]
    activities: list[tuple]  # (kind, occurred_at, contact email, deal name, details)
    money: dict = field(default_factory=dict)  # base currency, rates, what cannot be converted
    languages: dict = field(default_factory=dict)  # user or contact email -> language

    @property
    def activity_kinds(self) -> Counter:
        return Counter(row[0] for row in self.activities)

    def digest(self) -> str:
        payload = [self.users, self.companies, self.contacts, self.families, self.stages,
                   [vars(d) for d in self.deals], self.activities, self.money, self.languages]
        return hashlib.sha256(json.dumps(payload, default=str, sort_keys=True).encode()).hexdigest()


def _lines(deal: Deal) -> list:
    return [{"family": line.family.code, "quantity": line.quantity, "unit_price": str(line.unit_price),
             "amount": str(line.amount)} for line in deal.lines]


def _deals() -> list[DealFacts]:
    deals = db.session.scalars(
        select(Deal).options(joinedload(Deal.stage), joinedload(Deal.company),
                             selectinload(Deal.lines).joinedload(DealLine.family))
        .order_by(Deal.created_at, Deal.name)
    ).all()
    facts = {
        deal.id: DealFacts(
            deal.name, deal.status, deal.stage.name, deal.expected_close.isoformat(), str(deal.amount),
            _lines(deal), deal.created_at, deal.stage_entered_at, deal.closed_on, deal.lost_reason,
            deal.company.employee_count, deal.currency,
        )
        for deal in deals
    }
    emails = dict(db.session.execute(select(User.id, User.email)).all())
    for change in db.session.scalars(select(DealChange).order_by(DealChange.changed_at, DealChange.id)):
        facts[change.deal_id].changes.append(
            (change.field, change.old_value, change.new_value, change.changed_at,
             emails.get(change.changed_by_id)))
    for deal_id, count in db.session.execute(
        select(Activity.deal_id, func.count())
        .where(Activity.kind.in_(ENGAGEMENT_KINDS), Activity.deal_id.is_not(None))
        .group_by(Activity.deal_id)
    ):
        facts[deal_id].engagement = count
    return list(facts.values())


def take_snapshot() -> Snapshot:
    users = {u.id: u for u in db.session.scalars(select(User))}
    companies = {c.id: c for c in db.session.scalars(select(Company))}
    contacts = {c.id: c for c in db.session.scalars(select(Contact))}
    deal_names = dict(db.session.execute(select(Deal.id, Deal.name)).all())
    email = lambda user_id: users[user_id].email if user_id else None  # noqa: E731
    domain = lambda company_id: companies[company_id].domain if company_id else None  # noqa: E731
    return Snapshot(
        users=sorted((u.email, u.role, email(u.manager_id), u.time_zone) for u in users.values()),
        companies=sorted((c.domain, c.name, c.industry, c.employee_count, c.time_zone, email(c.owner_id),
                          c.created_at) for c in companies.values()),
        contacts=sorted((c.email, c.first_name, c.last_name, c.title, c.phone, domain(c.company_id),
                         email(c.owner_id), c.time_zone, c.lifecycle_stage, c.do_not_contact, c.unsubscribed,
                         c.linkedin_url, c.x_url, c.source, c.created_at) for c in contacts.values()),
        families=sorted((f.code, f.name, f.unit, f.lead_time_days)
                        for f in db.session.scalars(select(ProductFamily))),
        stages=sorted((s.position, s.name, str(s.probability)) for s in db.session.scalars(select(Stage))),
        deals=_deals(),
        activities=sorted(
            (a.kind, a.occurred_at, contacts[a.contact_id].email if a.contact_id else "",
             deal_names.get(a.deal_id, ""), json.dumps(a.details, sort_keys=True))
            for a in db.session.scalars(select(Activity))
        ),
        money={"base": base_currency(),
               "rates": sorted((r.currency, r.valid_from, str(r.rate))
                               for r in db.session.scalars(select(ExchangeRate))),
               "missing": [(g.currency, g.day, g.deals) for g in missing_exchange_rates()]},
        languages={**{u.email: u.language for u in users.values()},
                   **{c.email: c.language for c in contacts.values()}},
    )
