"""Which column feeds which field: synonyms, custom fields, overrides, missing columns."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.contacts.custom_fields import define_custom_field
from crm.contacts.models import Company, Contact
from crm.extensions import db
from crm.imports.mapping import apply_overrides, default_mapping
from crm.imports.reader import ImportAborted


def test_common_header_spellings_map_to_contact_fields():
    headers = ["E-mail", "First Name", "last_name", "Company", "Phone Number", "Job Title",
               "LinkedIn", "Email Address", "WEBSITE", "Lead Source"]
    mapping = default_mapping("contacts", headers)
    assert mapping.targets == ["email", "first_name", "last_name", "company", "phone", "title",
                               "linkedin_url", "", "domain", "source"]
    assert mapping.ignored == ["Email Address"]  # email was already taken by "E-mail"


def test_imported_contact_gets_every_mapped_field(csv_file, run_import):
    path = csv_file(
        "Email Address,First Name,Last Name,Job Title,Phone Number,LinkedIn,Website,Company\n"
        "ana@iberia-valves.com,Ana,Ruiz,Buyer,+34 600 000 000,https://linkedin.com/in/ana,"
        "iberia-valves.com,Iberia Valves\n"
    )
    outcome, sink = run_import(path)
    assert outcome.tally.created == 1 and not sink.rejections
    contact = db.session.scalar(select(Contact))
    assert (contact.email, contact.first_name, contact.last_name, contact.title, contact.phone) == (
        "ana@iberia-valves.com", "Ana", "Ruiz", "Buyer", "+34 600 000 000")
    assert contact.linkedin_url == "https://linkedin.com/in/ana"
    assert contact.company.name == "Iberia Valves" and contact.company.domain == "iberia-valves.com"


def test_unknown_columns_are_ignored_and_reported_not_rejected(csv_file, run_import):
    path = csv_file("email,Favourite Colour,notes\nlea@nordic-pumps.com,blue,met at fair\n")
    outcome, sink = run_import(path)
    assert outcome.tally.created == 1 and not sink.rejections
    assert outcome.mapping.ignored == ["Favourite Colour", "notes"]


def test_unknown_column_named_after_a_custom_field_fills_it(admin, csv_file, run_import):
    define_custom_field(admin, "contact", "industry_segment", "Industry segment", "choice",
                        ["Food", "Pharma"])
    define_custom_field(admin, "contact", "fleet_size", "Fleet size", "number")
    db.session.commit()
    path = csv_file(
        "Email,Industry Segment,FLEET_SIZE\n"
        "a@food-plant.com,Pharma,12\n"
        "b@food-plant.com,Chemicals,3\n"
        "c@food-plant.com,Food,many\n"
    )
    outcome, sink = run_import(path)
    assert outcome.mapping.targets == ["email", "custom.industry_segment", "custom.fleet_size"]
    assert db.session.scalar(select(Contact.custom).where(Contact.email == "a@food-plant.com")) == {
        "industry_segment": "Pharma", "fleet_size": 12}
    reasons = sink.reasons()
    assert set(reasons) == {3, 4}
    assert "custom.industry_segment: must be one of Food, Pharma" in reasons[3]
    assert "custom.fleet_size: must be a number" in reasons[4]


def test_missing_email_column_stops_before_anything_is_written(csv_file, run_import):
    path = csv_file("Name,Company\nAna Ruiz,Iberia\n")
    with pytest.raises(ImportAborted, match="required column missing: Email"):
        run_import(path)
    assert db.session.scalar(select(Contact.id)) is None
    assert db.session.scalar(select(Company.id)) is None


def test_a_map_override_picks_the_column_and_can_ignore_one(csv_file, run_import):
    path = csv_file("Contact,Work mail,Private mail\nAna Ruiz,ana@iberia-valves.com,ana@gmail.com\n")
    outcome, _sink = run_import(path, overrides={"work mail": "email", "Contact": "ignore"})
    assert outcome.mapping.targets == ["", "email", ""]
    contact = db.session.scalar(select(Contact))
    assert contact.email == "ana@iberia-valves.com" and contact.first_name == ""


def test_a_map_override_naming_an_unknown_field_or_column_is_refused():
    mapping = default_mapping("contacts", ["Email", "Notes"])
    with pytest.raises(ImportAborted, match="unknown field"):
        apply_overrides(mapping, {"Notes": "favourite_colour"})
    with pytest.raises(ImportAborted, match="no column 'Remarks'"):
        apply_overrides(mapping, {"Remarks": "title"})


def test_full_name_column_is_split_into_first_and_last(csv_file, run_import):
    path = csv_file("Name,Email\nMaria del Carmen Lopez,maria@iberia-valves.com\nCher,cher@iberia-valves.com\n")
    run_import(path)
    names = dict(db.session.execute(select(Contact.email, Contact.first_name + "|" + Contact.last_name)).all())
    assert names == {"maria@iberia-valves.com": "Maria del Carmen|Lopez", "cher@iberia-valves.com": "Cher|"}
