from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.deals import services
from crm.deals.models import DealChange
from crm.errors import Conflict, ValidationFailed
from crm.extensions import db
from tests.conftest import NOW


def changes(deal_id):
    return [(c.field, c.old_value, c.new_value) for c in services.deal_history(deal_id)]


def test_creation_records_the_initial_value_of_every_tracked_field(make_deal):
    deal = make_deal(lines=[{"family": "PUMP", "quantity": 3, "unit_price": "99.99"}])
    assert deal.amount == Decimal("299.97")
    fields = {field: (old, new) for field, old, new in changes(deal.id)}
    assert set(fields) == {"stage", "expected_close", "amount", "lines", "status"}
    assert all(old is None for old, _ in fields.values())
    assert fields["lines"][1] == [{"family": "PUMP", "quantity": 3.0, "unit_price": "99.99", "amount": "299.97"}]


def test_updates_record_old_and_new_values_with_who_and_when(make_deal, stages, alice, admin):
    deal = make_deal()
    later = NOW + timedelta(days=3)
    services.update_deal(admin, deal.id, {"stage_id": stages[2].id, "expected_close": "2026-06-15",
                                          "lines": [{"family": "VALVE", "quantity": 2, "unit_price": "50"}]}, later)
    db.session.commit()
    rows = db.session.scalars(select(DealChange).where(DealChange.changed_at == later)).all()
    got = {r.field: (r.old_value, r.new_value) for r in rows}
    assert got["stage"] == ("Prospecting", "Proposal")
    assert got["expected_close"] == ("2026-05-01", "2026-06-15")
    assert got["amount"] == ("1000.00", "100.00")
    assert all(r.changed_by_id == admin.id for r in rows)
    assert deal.stage_entered_at == later


def test_an_update_that_changes_nothing_records_nothing(make_deal, admin):
    deal = make_deal()
    before = len(changes(deal.id))
    services.update_deal(admin, deal.id, {"expected_close": "2026-05-01"}, NOW)
    assert len(changes(deal.id)) == before


def test_closing_as_lost_needs_a_reason_and_closed_deals_cannot_move_stage(make_deal, admin, stages):
    deal = make_deal()
    with pytest.raises(ValidationFailed):
        services.close_deal(admin, deal.id, won=False, now=NOW)
    services.close_deal(admin, deal.id, won=False, now=NOW, lost_reason="budget")
    assert deal.status == "lost" and deal.closed_on == NOW.date()
    with pytest.raises(Conflict):
        services.update_deal(admin, deal.id, {"stage_id": stages[1].id}, NOW)
    with pytest.raises(Conflict):
        services.close_deal(admin, deal.id, won=True, now=NOW)


def test_bad_lines_are_reported_per_line(admin, stages, families):
    with pytest.raises(ValidationFailed) as exc:
        services.create_deal(admin, {"name": "X", "stage_id": stages[0].id, "expected_close": "2026-13-01",
                                     "lines": [{"family": "NOPE", "quantity": 0, "unit_price": "-1"}]}, NOW)
    assert {"expected_close", "lines.0.family", "lines.0.quantity", "lines.0.unit_price"} <= set(exc.value.fields)


def test_board_groups_open_deals_by_stage_with_totals(make_deal, stages, admin):
    make_deal(stage_id=stages[1].id)
    make_deal(stage_id=stages[1].id)
    lost = make_deal(stage_id=stages[1].id)
    services.close_deal(admin, lost.id, won=False, now=NOW, lost_reason="x")
    board = {stage.name: (count, total.amount) for stage, _deals, count, total in services.deal_board()}
    assert board["Qualified"] == (2, Decimal("2000.00"))
    assert board["Prospecting"] == (0, Decimal("0"))


def test_closed_on_must_match_status_in_the_database(make_deal):
    from sqlalchemy.exc import IntegrityError

    deal = make_deal()
    deal.status = "won"  # without closed_on
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_family_with_lines_cannot_be_deleted(make_deal, admin, families):
    make_deal()
    with pytest.raises(Conflict):
        services.delete_family(admin, families[0].id)
