"""``crm.signals.deal_changed`` is sent with the deal id and the fields that changed, as its
docstring says: on create, update, close and reopen, never for a change that changes nothing."""
from datetime import timedelta

import pytest

from crm.deals import services
from crm.signals import deal_changed
from tests.conftest import NOW


@pytest.fixture
def received():
    calls = []

    def receiver(sender, **kwargs):
        calls.append((sender, kwargs))

    deal_changed.connect(receiver)
    yield calls
    deal_changed.disconnect(receiver)


def test_creation_names_every_tracked_field(received, make_deal):
    deal = make_deal()
    assert received == [(deal.id, {"fields": ("stage", "expected_close", "amount", "lines", "status"), "now": NOW})]


def test_update_and_close_send_the_deal_id_and_the_changed_fields(received, make_deal, admin, stages):
    deal = make_deal()
    received.clear()
    later = NOW + timedelta(days=2)
    services.update_deal(admin, deal.id, {"stage_id": stages[2].id, "expected_close": "2026-06-15"}, later)
    assert received == [(deal.id, {"fields": ("stage", "expected_close"), "now": later})]
    received.clear()
    services.update_deal(admin, deal.id, {"lines": [{"family": "VALVE", "quantity": 1, "unit_price": "5"}]}, later)
    assert received == [(deal.id, {"fields": ("amount", "lines"), "now": later})]
    received.clear()
    closed = later + timedelta(days=1)
    services.close_deal(admin, deal.id, won=True, now=closed)
    assert received == [(deal.id, {"fields": ("status",), "now": closed})]
    received.clear()
    services.reopen_deal(admin, deal.id, closed)
    assert received == [(deal.id, {"fields": ("status",), "now": closed})]


def test_an_update_that_changes_nothing_sends_nothing(received, make_deal, admin):
    deal = make_deal()
    received.clear()
    services.update_deal(admin, deal.id, {"expected_close": "2026-05-01", "name": deal.name}, NOW)
    assert received == []
