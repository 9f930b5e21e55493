"""N+1 guards: the contacts list and a contact's timeline run the same number of queries with
10 rows as with 1,000. Rows are bulk-inserted so the test stays fast."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from crm.auth.models import User
from crm.contacts.custom_fields import define_custom_field
from crm.contacts.models import Activity, Company, Contact
from crm.extensions import db
from tests.conftest import NOW


@pytest.fixture
def as_alice(client, alice, login):
    login(client, alice)
    return client


@pytest.fixture
def owners():
    """Many distinct users: a lazy load per row only shows once rows outnumber cached users."""
    rows = [{"email": f"bulk-rep{n}@acme-sales.com", "name": f"Bulk Rep {n}", "role": "rep",
             "time_zone": "UTC", "is_active": True, "created_at": NOW} for n in range(60)]
    ids = db.session.scalars(insert(User).returning(User.id), rows).all()
    db.session.commit()
    return ids


@pytest.fixture
def companies():
    """Many companies, so a lazy load per row would show up as extra queries."""
    rows = [{"name": f"Bulk Co {n}", "domain": f"bulk-co-{n}.com", "custom": {}, "created_at": NOW,
             "updated_at": NOW} for n in range(60)]
    ids = db.session.scalars(insert(Company).returning(Company.id), rows).all()
    db.session.commit()
    return ids


def add_contacts(start: int, count: int, companies: list[int], owners) -> None:
    rows = [{
        "email": f"bulk{n}@bulk-co-{n % 60}.com", "first_name": f"Bulk{n}", "last_name": f"Person{n:04d}",
        "company_id": companies[n % len(companies)], "owner_id": owners[n % len(owners)],
        "lifecycle_stage": ("lead", "mql", "sql", "opportunity", "customer")[n % 5],
        "do_not_contact": n % 11 == 0, "unsubscribed": False, "custom": {"tier": "Gold" if n % 2 else "Silver"},
        "created_at": NOW, "updated_at": NOW,
    } for n in range(start, start + count)]
    db.session.execute(insert(Contact), rows)
    db.session.commit()


def add_activities(contact_id: int, start: int, count: int, users, deal_id: int | None) -> None:
    rows = [{
        "contact_id": contact_id, "user_id": users[n % len(users)],
        "kind": ("note", "call", "email_sent", "deal_stage_changed")[n % 4],
        "deal_id": deal_id if n % 4 == 3 else None, "occurred_at": NOW - timedelta(minutes=n),
        "details": {"body": f"bulk note {n}", "from": "A", "to": "B", "subject": "Hello"}, "created_at": NOW,
    } for n in range(start, start + count)]
    db.session.execute(insert(Activity), rows)
    db.session.commit()


def queries_for(client, path: str, count_queries) -> int:
    assert client.get(path).status_code == 200  # warm caches so both runs start alike
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200
    return counter.count


@pytest.mark.parametrize("path", ["/contacts", "/contacts?q=bulk&sort=company&dir=desc",
                                  "/contacts?stage=mql&cf_tier=Gold"])
def test_contacts_list_queries_do_not_grow_with_rows(as_alice, admin, owners, companies, count_queries, path):
    define_custom_field(admin, "contact", "tier", "Tier", "choice", ["Gold", "Silver"])
    db.session.commit()
    add_contacts(0, 10, companies, owners)
    with_10 = queries_for(as_alice, path, count_queries)
    add_contacts(10, 990, companies, owners)
    with_1000 = queries_for(as_alice, path, count_queries)
    assert with_1000 == with_10
    assert with_10 <= 10  # session + user, custom fields, owners, count, page


def test_contact_timeline_queries_do_not_grow_with_rows(as_alice, owners, make_contact, make_deal, count_queries):
    contact = make_contact()
    deal = make_deal(contact_id=contact.id)
    path = f"/contacts/{contact.id}"
    add_activities(contact.id, 0, 10, owners, deal.id)
    with_10 = queries_for(as_alice, path, count_queries)
    add_activities(contact.id, 10, 990, owners, deal.id)
    with_1000 = queries_for(as_alice, path, count_queries)
    assert with_1000 == with_10
    assert "bulk note 0" in as_alice.get(path).get_data(as_text=True)
    assert queries_for(as_alice, path + "?page=40", count_queries) == with_10  # a late page costs the same
