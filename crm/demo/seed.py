"""Write the demo company into the database.

Steps, in order:
1. plan everything in memory from one seeded ``random.Random`` (``people.py``, ``deals.py``);
   the writing below draws no random numbers, so the same seed and reference today give the
   same rows whatever the database;
2. the team and the catalogue (users, pipeline stages, product families) through the services;
3. companies, contacts and the contacts' own timeline as bulk inserts (validated with the
   services' own field cleaning first), then a commit;
4. every deal replayed through the deal services (``create_deal``, ``update_deal``,
   ``close_deal``) with ``now`` set to the historical moment, so ``DealChange`` holds the full
   history; the touches made while each deal was open are bulk-inserted; a commit per chunk;
5. last, the demo planner: the marker that the demo is complete. A run interrupted earlier
   leaves the admin without the planner, which ``demo_state`` reports as ``partial``.
"""
from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from flask import current_app
from sqlalchemy import func, insert, select

from crm.auth import services as auth_services
from crm.auth.models import User
from crm.contacts.models import Activity, Company, Contact
from crm.contacts.services import company_values, contact_values
from crm.deals import services as deal_services
from crm.deals.models import Deal
from crm.demo import catalog
from crm.demo.deals import DealPlan, plan_deals, promote_deal_people
from crm.demo.people import (
    ActivityPlan,
    CompanyPlan,
    ContactPlan,
    assign_base_lifecycle,
    plan_companies,
    plan_contact_activities,
    plan_contacts,
)
from crm.demo.timing import history_start
from crm.extensions import db

log = logging.getLogger(__name__)

DEFAULT_SEED = 42
DEALS_PER_COMMIT = 250


@dataclass(frozen=True)
class DemoPlan:
    companies: list[CompanyPlan]
    contacts: list[ContactPlan]
    deals: list[DealPlan]
    contact_activities: list[ActivityPlan]


def build_plan(seed: int, today: date) -> DemoPlan:
    """Everything the demo will write, decided up front from ``seed`` alone."""
    rng = random.Random(seed)
    companies = plan_companies(rng, history_start(today))
    contacts = plan_contacts(rng, companies, today)
    assign_base_lifecycle(rng, contacts)
    deals = plan_deals(rng, companies, today)
    promote_deal_people(rng, deals)
    return DemoPlan(companies, contacts, deals, plan_contact_activities(rng, contacts, today))


def demo_state() -> str:
    """``present`` (complete demo), ``partial`` (an interrupted run), ``other`` (a database
    holding someone else's data, never to be mixed with demo rows) or ``empty``."""
    emails = [user.email for user in catalog.USERS]
    found = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
    if {catalog.ADMIN.email, catalog.PLANNER.email} <= found:
        return "present"
    if found:
        return "partial"
    for model in (User, Company, Contact, Deal):
        if db.session.scalar(select(model.id).limit(1)) is not None:
            return "other"
    return "empty"


def seed_demo(*, seed: int, today: date, commit: Callable[[], None]) -> dict[str, int]:
    """Build the demo company; ``commit`` is called after each chunk (the caller owns the
    transaction). Call only when ``demo_state()`` is ``empty``.

    :param today: the reference today; all history lies before its midnight UTC
    :returns: row counts by kind, for the summary the CLI prints
    """
    plan = build_plan(seed, today)
    log.info("demo plan: %d companies, %d contacts, %d deals",
             len(plan.companies), len(plan.contacts), len(plan.deals))
    since = datetime.combine(history_start(today) - timedelta(days=90), time(9), tzinfo=timezone.utc)
    actors = {user.key: _create_user(user, since, actors=None) for user in (catalog.ADMIN, catalog.MANAGER)}
    for rep in catalog.REPS:
        actors[rep.key] = _create_user(rep, since, actors)
    stage_ids = _create_pipeline(actors["admin"])
    company_ids = _insert_companies(plan.companies, actors)
    contact_ids = _insert_contacts(plan.contacts, company_ids, actors)
    _insert_activities(_contact_created_rows(plan.contacts, contact_ids, company_ids, actors))
    _insert_activities(_activity_rows(plan.contact_activities, contact_ids, company_ids, actors, None))
    commit()
    for first in range(0, len(plan.deals), DEALS_PER_COMMIT):
        rows = []
        for deal_plan in plan.deals[first:first + DEALS_PER_COMMIT]:
            deal_id = _replay_deal(deal_plan, actors, stage_ids, company_ids, contact_ids)
            rows += _activity_rows(deal_plan.activities, contact_ids, company_ids, actors, deal_id)
        _insert_activities(rows)
        commit()
        written = min(first + DEALS_PER_COMMIT, len(plan.deals))
        log.info("demo deals: %d of %d written", written, len(plan.deals))
    extra = _seed_features(actors, today, commit)
    _create_user(catalog.PLANNER, since, actors)
    commit()
    return {**_summary(), **extra}


def _seed_features(actors: dict[str, User], today: date, commit: Callable[[], None]) -> dict[str, int]:
    """Each feature's own demo rows (sequences, meetings, time blocks, tracking, scores), in
    manifest order (``crm/features.py``; the app keeps them in ``extensions``), each committed
    on its own. ``now`` is midnight UTC starting
    ``today``, the end of the core demo's history: the same rows whenever it is seeded, and
    nothing that happened "later today" than the moment someone first looks."""
    now = datetime.combine(today, time(0), tzinfo=timezone.utc)
    counts: dict[str, int] = {}
    for seed in current_app.extensions["crm_demo_seeders"]:
        counts.update(seed(actors, today, now))
        commit()
    return counts


# --- the team and the catalogue ---------------------------------------------------------

def _create_user(user: catalog.DemoUser, since: datetime, actors: dict | None) -> User:
    manager_id = actors["manager"].id if actors and user.role == "rep" else None
    created = auth_services.create_user(
        user.email, user.role, catalog.DEMO_PASSWORD, name=user.name, manager_id=manager_id,
        time_zone=user.time_zone,
    )
    created.language = user.language
    created.created_at = since
    db.session.flush()
    return created


def _create_pipeline(admin: User) -> list[int]:
    stage_ids = [
        deal_services.save_stage(admin, name=name, probability=probability, position=position).id
        for position, (name, probability) in enumerate(catalog.STAGES)
    ]
    for family in catalog.FAMILIES:
        deal_services.create_family(admin, {
            "code": family.code, "name": family.name, "unit": family.unit,
            "lead_time_days": family.lead_time_days,
        })
    return stage_ids


# --- customers (bulk) -------------------------------------------------------------------

def _insert_companies(companies: list[CompanyPlan], actors: dict[str, User]) -> dict[str, int]:
    rows = []
    for company in companies:
        row = company_values({
            "name": company.name, "domain": company.domain, "industry": company.industry,
            "employee_count": company.employee_count, "time_zone": company.country.time_zone,
        }, partial=False)
        rows.append({**row, "owner_id": actors[company.owner_key].id, "custom": {},
                     "created_at": company.created_at, "updated_at": company.created_at})
    db.session.execute(insert(Company), rows)
    return dict(db.session.execute(select(Company.domain, Company.id)).all())


def _insert_contacts(
    contacts: list[ContactPlan], company_ids: dict[str, int], actors: dict[str, User],
) -> dict[str, int]:
    rows = []
    for contact in contacts:
        row = contact_values({
            "email": contact.email, "first_name": contact.first_name, "last_name": contact.last_name,
            "title": contact.title, "phone": contact.phone, "time_zone": contact.time_zone,
            "lifecycle_stage": contact.lifecycle_stage, "do_not_contact": contact.do_not_contact,
            "unsubscribed": contact.unsubscribed, "linkedin_url": contact.linkedin_url,
            "x_url": contact.x_url, "source": contact.source,
        }, partial=False)
        rows.append({**row, "company_id": company_ids[contact.company.domain],
                     "language": contact.company.country.language,
                     "owner_id": actors[contact.owner_key].id, "custom": {},
                     "created_at": contact.created_at, "updated_at": contact.created_at})
    db.session.execute(insert(Contact), rows)
    return dict(db.session.execute(select(Contact.email, Contact.id)).all())


def _contact_created_rows(contacts, contact_ids, company_ids, actors) -> list[dict]:
    return [
        {"kind": "contact_created", "occurred_at": c.created_at, "created_at": c.created_at,
         "contact_id": contact_ids[c.email], "company_id": company_ids[c.company.domain],
         "deal_id": None, "user_id": actors[c.owner_key].id, "details": {"source": c.source}}
        for c in contacts
    ]


def _activity_rows(
    activities: list[ActivityPlan], contact_ids, company_ids, actors, deal_id: int | None,
) -> list[dict]:
    return [
        {"kind": a.kind, "occurred_at": a.at, "created_at": a.at, "contact_id": contact_ids[a.contact.email],
         "company_id": company_ids[a.contact.company.domain], "deal_id": deal_id,
         "user_id": actors[a.user_key].id, "details": a.details}
        for a in activities
    ]


def _insert_activities(rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(Activity), rows)


# --- deals (through the services, as they happened) -------------------------------------

def _replay_deal(plan: DealPlan, actors, stage_ids, company_ids, contact_ids) -> int:
    owner = actors[plan.owner_key]
    deal = deal_services.create_deal(owner, {
        "name": plan.name, "stage_id": stage_ids[plan.stage], "expected_close": plan.expected_close,
        "company_id": company_ids[plan.company.domain], "contact_id": contact_ids[plan.contact.email],
        "owner_id": owner.id, "source": plan.source, "lines": [line.as_input() for line in plan.lines],
        "currency": plan.company.country.currency,
    }, plan.created_at)
    for step in plan.steps:
        actor = actors[step.by]
        if step.kind == "update":
            changes: dict = {}
            if step.stage is not None:
                changes["stage_id"] = stage_ids[step.stage]
            if step.lines is not None:
                changes["lines"] = [line.as_input() for line in step.lines]
            if step.expected_close is not None:
                changes["expected_close"] = step.expected_close
            deal_services.update_deal(actor, deal.id, changes, step.at)
        else:
            deal_services.close_deal(
                actor, deal.id, won=step.kind == "won", now=step.at, closed_on=step.at.date(),
                lost_reason=step.lost_reason,
            )
    return deal.id


def _summary() -> dict[str, int]:
    roles = Counter(db.session.scalars(select(User.role)))
    statuses = dict(db.session.execute(select(Deal.status, func.count()).group_by(Deal.status)).all())
    return {
        "users": sum(roles.values()),
        "companies": db.session.scalar(select(func.count(Company.id))),
        "contacts": db.session.scalar(select(func.count(Contact.id))),
        "open deals": statuses.get("open", 0),
        "won deals": statuses.get("won", 0),
        "lost deals": statuses.get("lost", 0),
        "activities": db.session.scalar(select(func.count(Activity.id))),
    }
