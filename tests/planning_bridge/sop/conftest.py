"""Fixtures for the S&OP cycle: a cycle on the test families (PUMP, VALVE), opened relative to
the frozen clock (the month before ``NOW``'s), and an API caller per persona."""
from __future__ import annotations

import pytest

from crm.extensions import db
from planning_bridge.periods import month_index, period_text
from planning_bridge.sop import services
from tests.conftest import NOW

API = "/api/v1/planning"
CYCLE_MONTH = period_text(month_index(NOW.date()) - 1)        # the month just ended
FIRST = period_text(month_index(NOW.date()))                  # the plan's first month
SECOND = period_text(month_index(NOW.date()) + 1)
THIRD = period_text(month_index(NOW.date()) + 2)


@pytest.fixture
def cycle(pat, families, stages):
    opened = services.open_cycle(pat, CYCLE_MONTH, NOW)
    db.session.commit()
    return opened


@pytest.fixture
def call(client, api_token):
    """``call(user, method, path, **kw)``: an API request with that user's token."""
    tokens = {}

    def request(user, method, path, **kw):
        if user.id not in tokens:
            tokens[user.id] = api_token(user)
        headers = {**tokens[user.id], **kw.pop("headers", {})}
        return client.open(API + path, method=method, headers=headers, **kw)

    return request


@pytest.fixture
def finance(make_user):
    return make_user("finance", name="Fiona Finance", email="fiona@acme-sales.com")
