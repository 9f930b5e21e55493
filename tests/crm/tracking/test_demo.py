"""The tracking demo: visits from companies, machine and human email events, idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from crm.extensions import db
from crm.tracking import demo
from crm.tracking.models import TrackingEvent
from crm.tracking.queries import companies_visiting
from tests.conftest import NOW


def test_demo_seed_makes_a_living_feature_once(app, make_company, make_contact, admin, alice):
    for i in range(6):
        company = make_company(name=f"Buyer {i}", domain=f"buyer{i}.example", employee_count=100 * (i + 1))
        for j in range(8):
            make_contact(email=f"p{j}@buyer{i}.example", company_id=company.id, owner_id=alice.id)
    counts = demo.seed({"admin": admin}, NOW.date(), NOW)
    db.session.commit()
    assert counts["IP ranges"] >= 6 and counts["page views"] > 0 and counts["email tracking events"] > 0
    verdicts = dict(db.session.execute(
        select(TrackingEvent.verdict, func.count()).group_by(TrackingEvent.verdict)).all())
    assert verdicts.get("privacy_proxy") and verdicts.get("human")
    assert companies_visiting(NOW)
    assert demo.seed({"admin": admin}, NOW.date(), NOW) == {}
