"""N+1 guards: the deal board and the deal list run the same number of queries with 10 deals as
with 300. Deals and lines are bulk-inserted so the test stays fast."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from crm.auth.models import User
from crm.contacts.models import Company
from crm.deals.models import Deal, DealLine
from crm.extensions import db
from tests.conftest import NOW


@pytest.fixture
def as_mallory(client, mallory, login):
    login(client, mallory)
    return client


@pytest.fixture
def owners():
    rows = [{"email": f"bulk-rep{n}@acme-sales.com", "name": f"Bulk Rep {n}", "role": "rep",
             "time_zone": "UTC", "is_active": True, "created_at": NOW} for n in range(40)]
    ids = db.session.scalars(insert(User).returning(User.id), rows).all()
    db.session.commit()
    return ids


@pytest.fixture
def companies():
    rows = [{"name": f"Bulk Co {n}", "domain": f"bulk-co-{n}.com", "custom": {}, "created_at": NOW,
             "updated_at": NOW} for n in range(80)]
    ids = db.session.scalars(insert(Company).returning(Company.id), rows).all()
    db.session.commit()
    return ids


def add_deals(start: int, count: int, stages, families, owners, companies) -> None:
    rows = [{
        "name": f"Bulk deal {n}", "stage_id": stages[n % len(stages)].id, "status": "open",
        "owner_id": owners[n % len(owners)], "company_id": companies[n % len(companies)],
        "amount": Decimal("1000.00"), "currency": "EUR", "expected_close": date(2026, 4, 1) + timedelta(days=n % 90),
        "created_at": NOW, "stage_entered_at": NOW,
    } for n in range(start, start + count)]
    deal_ids = db.session.scalars(insert(Deal).returning(Deal.id), rows).all()
    db.session.execute(insert(DealLine), [{
        "deal_id": deal_id, "family_id": families[i % len(families)].id, "quantity": 10.0,
        "unit_price": Decimal("100.00"), "amount": Decimal("1000.00"),
    } for i, deal_id in enumerate(deal_ids)])
    db.session.commit()


def queries_for(client, path: str, count_queries) -> int:
    assert client.get(path).status_code == 200
    with count_queries() as counter:
        response = client.get(path)
    assert response.status_code == 200
    return counter.count


@pytest.mark.parametrize("path", ["/deals/board", "/deals", "/deals?sort=amount&status=open"])
def test_deal_pages_queries_do_not_grow_with_deals(as_mallory, stages, families, owners, companies,
                                                   count_queries, path):
    add_deals(0, 10, stages, families, owners, companies)
    with_10 = queries_for(as_mallory, path, count_queries)
    add_deals(10, 290, stages, families, owners, companies)
    with_300 = queries_for(as_mallory, path, count_queries)
    assert with_300 == with_10
    assert with_10 <= 10


def test_board_caps_cards_per_column_and_links_to_the_rest(as_mallory, stages, families, owners, companies):
    add_deals(0, 300, stages, families, owners, companies)  # 75 per stage, 50 shown
    html = as_mallory.get("/deals/board").get_data(as_text=True)
    assert html.count('class="deal-card"') == 4 * 50
    assert "and 25 more" in html
    assert "€75,000" in html  # a column's total counts every deal, not just the cards shown
