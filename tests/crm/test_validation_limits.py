"""Limits the services apply whatever the caller: no 500 from the database for huge ids,
numbers or control characters."""
import pytest

from crm.contacts import services as contacts
from crm.contacts.custom_fields import define_custom_field
from crm.deals import services as deals
from crm.errors import NotFound, ValidationFailed
from tests.conftest import NOW

HUGE = "99999999999999999999"


def test_huge_ids_read_as_not_found(admin):
    for get in (contacts.get_contact, contacts.get_company, deals.get_deal, deals.get_stage, deals.get_family):
        with pytest.raises(NotFound):
            get(int(HUGE))


def test_huge_references_are_field_errors(admin, stages, families):
    with pytest.raises(ValidationFailed) as exc:
        contacts.create_contact(admin, {"email": "a@b-corp.com", "owner_id": HUGE, "company_id": HUGE}, NOW)
    assert set(exc.value.fields) == {"owner_id", "company_id"}
    with pytest.raises(ValidationFailed) as exc:
        deals.create_deal(admin, {"name": "X", "stage_id": HUGE, "expected_close": "2026-01-01", "owner_id": HUGE,
                                  "lines": [{"family": "PUMP", "quantity": 1e300, "unit_price": "1e20"}]}, NOW)
    assert {"stage_id", "owner_id", "lines.0.quantity", "lines.0.unit_price"} <= set(exc.value.fields)


def test_control_characters_and_overflowing_numbers_are_refused(admin):
    define_custom_field(admin, "contact", "budget", "Budget", "number")
    with pytest.raises(ValidationFailed) as exc:
        contacts.create_contact(
            admin, {"email": "c@b-corp.com", "first_name": "Nul\x00", "custom": {"budget": "1e400"}}, NOW)
    assert set(exc.value.fields) == {"first_name", "custom.budget"}
    with pytest.raises(ValidationFailed) as exc:
        contacts.create_company(admin, {"name": "Big", "employee_count": HUGE}, NOW)
    assert "employee_count" in exc.value.fields
