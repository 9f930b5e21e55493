import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from crm.contacts import services
from crm.contacts.custom_fields import define_custom_field
from crm.contacts.models import Activity, Company, Contact
from crm.errors import Conflict, PermissionDenied, ValidationFailed
from crm.extensions import db
from tests.conftest import NOW


def test_email_is_normalised_and_duplicates_by_case_are_refused(alice):
    contact = services.create_contact(alice, {"email": "  Ann.Lee@Globex-Corp.com "}, NOW)
    assert contact.email == "ann.lee@globex-corp.com"
    with pytest.raises(Conflict):
        services.create_contact(alice, {"email": "ANN.LEE@globex-corp.com"}, NOW)


def test_database_refuses_mixed_case_email_even_past_the_service(app):
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Contact), [{"email": "Ann@Globex-Corp.com", "first_name": "", "last_name": "",
                                              "lifecycle_stage": "lead", "do_not_contact": False,
                                              "unsubscribed": False, "custom": {}, "created_at": NOW,
                                              "updated_at": NOW}])
        db.session.flush()
    db.session.rollback()


def test_invalid_email_is_refused_with_a_reason(alice):
    with pytest.raises(ValidationFailed) as exc:
        services.create_contact(alice, {"email": "not-an-address"}, NOW)
    assert "email" in exc.value.fields


def test_company_is_created_from_a_work_email_domain(alice):
    first = services.create_contact(alice, {"email": "a@initech-systems.com"}, NOW)
    second = services.create_contact(alice, {"email": "b@Initech-Systems.com"}, NOW)
    assert first.company_id == second.company_id
    company = db.session.get(Company, first.company_id)
    assert company.domain == "initech-systems.com" and company.name == "Initech Systems"


def test_free_mail_address_creates_no_company(alice):
    contact = services.create_contact(alice, {"email": "someone@gmail.com"}, NOW)
    assert contact.company_id is None
    assert db.session.scalar(select(Company.id)) is None


def test_a_rep_owns_what_they_create_and_a_timeline_row_is_written(alice):
    contact = services.create_contact(alice, {"email": "c@hooli-xyz.com"}, NOW)
    assert contact.owner_id == alice.id
    kinds = db.session.scalars(select(Activity.kind).where(Activity.contact_id == contact.id)).all()
    assert kinds == ["contact_created"]


def test_rep_cannot_edit_another_reps_contact_but_their_manager_can(alice, bob, mallory, charlie):
    contact = services.create_contact(alice, {"email": "d@hooli-xyz.com"}, NOW)
    with pytest.raises(PermissionDenied):
        services.update_contact(charlie, contact.id, {"title": "CFO"}, NOW)
    with pytest.raises(PermissionDenied):
        services.update_contact(bob, contact.id, {"title": "CFO"}, NOW)
    assert services.update_contact(mallory, contact.id, {"title": "CFO"}, NOW).title == "CFO"


def test_planner_cannot_create_contacts(pat):
    with pytest.raises(PermissionDenied):
        services.create_contact(pat, {"email": "e@hooli-xyz.com"}, NOW)


def test_bad_fields_are_all_reported_at_once(alice):
    with pytest.raises(ValidationFailed) as exc:
        services.create_contact(alice, {"email": "x@y-corp.com", "time_zone": "Nowhere/City",
                                        "lifecycle_stage": "hot", "linkedin_url": "javascript:alert(1)"}, NOW)
    assert set(exc.value.fields) == {"time_zone", "lifecycle_stage", "linkedin_url"}


def test_custom_fields_are_validated_stored_and_filterable(admin, alice):
    define_custom_field(admin, "contact", "budget", "Budget", "number")
    define_custom_field(admin, "contact", "region", "Region", "choice", ["EMEA", "AMER"])
    define_custom_field(admin, "contact", "champion", "Champion", "boolean")
    c1 = services.create_contact(
        alice, {"email": "f@a-corp.com", "custom": {"budget": "1500", "region": "EMEA", "champion": "yes"}}, NOW)
    services.create_contact(alice, {"email": "g@a-corp.com", "custom": {"region": "AMER"}}, NOW)
    db.session.commit()
    assert c1.custom == {"budget": 1500, "region": "EMEA", "champion": True}
    assert [c.email for c in services.search_contacts(custom={"region": "EMEA"}).items] == ["f@a-corp.com"]
    assert [c.email for c in services.search_contacts(custom={"champion": "true"}).items] == ["f@a-corp.com"]
    with pytest.raises(ValidationFailed) as exc:
        services.create_contact(alice, {"email": "h@a-corp.com", "custom": {"region": "APAC", "nope": 1}}, NOW)
    assert set(exc.value.fields) == {"custom.region", "custom.nope"}


def test_search_matches_name_email_and_company(make_contact, make_company):
    company = make_company(name="Umbrella Logistics", domain="umbrella-log.com")
    make_contact(email="zed@umbrella-log.com", first_name="Zed", last_name="Zimmer", company_id=company.id)
    make_contact(email="amy@other-co.com", first_name="Amy", last_name="Adams")
    assert [c.first_name for c in services.search_contacts("umbrella").items] == ["Zed"]
    assert [c.first_name for c in services.search_contacts("zed zim").items] == ["Zed"]
    assert [c.first_name for c in services.search_contacts("AMY@").items] == ["Amy"]


def test_timeline_is_newest_first_and_paginated(make_contact, alice):
    from datetime import timedelta

    contact = make_contact()
    for i in range(30):
        services.record_activity("note", NOW + timedelta(minutes=i), contact_id=contact.id, details={"i": i})
    db.session.commit()
    page = services.timeline(contact_id=contact.id, page=1, per_page=10)
    assert page.total == 31 and page.pages == 4
    assert [a.details.get("i") for a in page.items][:3] == [29, 28, 27]


def test_naive_datetimes_are_refused(make_contact):
    from datetime import datetime

    contact = make_contact()
    with pytest.raises(ValueError):
        services.record_activity("note", datetime(2026, 1, 1), contact_id=contact.id)


def test_deleting_a_company_keeps_its_contacts_and_their_notes(alice, make_company):
    company = make_company(domain="wayne-ent.com")
    contact = services.create_contact(alice, {"email": "bruce@wayne-ent.com"}, NOW)
    note = services.add_note(alice, "Met at the gala", NOW, contact_id=contact.id)
    company_only = services.add_note(alice, "Account plan", NOW, company_id=company.id)
    db.session.commit()
    ids = (contact.id, note.id, company_only.id)
    services.delete_company(alice, company.id)
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(Contact, ids[0]).company_id is None
    assert db.session.get(Activity, ids[1]).company_id is None
    assert db.session.get(Activity, ids[2]) is None


def test_a_domain_too_long_once_encoded_is_refused():
    with pytest.raises(ValueError):
        services.normalize_domain(".".join(["é" * 60] * 5) + ".com")
    assert services.normalize_domain("https://www.Bücher.de/shop") == "xn--bcher-kva.de"
