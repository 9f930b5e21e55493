"""Fixtures for the planning bridge: a clean slate of the bridge's in-process caches, and small
helpers to script deal histories through the CRM's services at chosen moments."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm.extensions import db
from planning_bridge import services


@pytest.fixture(autouse=True)
def _fresh_bridge_caches():
    services.clear_caches()
    yield


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def deal_at(admin, stages, families):
    """``deal_at(created, stage_index, expected_close, lines)`` creates a deal at that moment."""
    from crm.deals.services import create_deal

    def make(created: datetime, stage: int, expected_close: date, lines, name: str | None = None,
             owner=None):
        deal = create_deal(admin, {
            "owner_id": owner.id if owner else None,
            "name": name or f"Deal {created.isoformat()}-{stage}", "stage_id": stages[stage].id,
            "expected_close": expected_close,
            "lines": [{"family": f, "quantity": q, "unit_price": str(p)} for f, q, p in lines],
        }, created)
        db.session.commit()
        return deal

    return make


@pytest.fixture
def close_at(admin):
    from crm.deals.services import close_deal

    def close(deal, moment: datetime, won: bool, closed_on: date | None = None):
        close_deal(admin, deal.id, won=won, now=moment, closed_on=closed_on or moment.date(),
                   lost_reason=None if won else "no budget")
        db.session.commit()

    return close


@pytest.fixture
def update_at(admin, stages):
    from crm.deals.services import update_deal

    def update(deal, moment: datetime, **changes):
        if "stage" in changes:
            changes["stage_id"] = stages[changes.pop("stage")].id
        if "lines" in changes:
            changes["lines"] = [{"family": f, "quantity": q, "unit_price": str(p)} for f, q, p in changes["lines"]]
        update_deal(admin, deal.id, changes, moment)
        db.session.commit()

    return update
