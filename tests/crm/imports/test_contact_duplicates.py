"""Duplicates by normalised email: against the database, update or skip; inside the file, the
repeat is rejected with both line numbers (issue #18: it used to vanish as "skipped")."""
from __future__ import annotations

from sqlalchemy import func, select

from crm.contacts.models import Activity, Company, Contact
from crm.extensions import db

FILE = (
    "Email,First Name,Job Title,Phone\n"
    "Ana@Iberia-Valves.com,Ana,Buyer,\n"             # line 2: new
    "  ana@iberia-valves.COM ,,Head of Buying,+34 1\n"  # line 3: same person, mixed case and spaces
    "lea@nordic-pumps.com,Lea,,\n"                    # line 4: exists in the database
)


def _contacts():
    return {c.email: c for c in db.session.scalars(select(Contact))}


def test_duplicates_update_with_non_empty_cells_only(make_contact, csv_file, run_import):
    make_contact(email="LEA@nordic-pumps.com", first_name="Leah", title="CTO", phone="+47 22")
    outcome, sink = run_import(csv_file(FILE), on_duplicate="update")
    tally = outcome.tally
    assert (tally.rows_seen, tally.created, tally.updated, tally.skipped, tally.rejected) == (3, 1, 1, 0, 1)
    reason = sink.reasons()[3]
    assert "already on line 2 of this file" in reason and "differ only in case" in reason
    assert "lines 2 and 3" in reason
    contacts = _contacts()
    assert len(contacts) == 2
    ana = contacts["ana@iberia-valves.com"]
    assert (ana.first_name, ana.title, ana.phone) == ("Ana", "Buyer", None)  # the first row won
    lea = contacts["lea@nordic-pumps.com"]
    assert (lea.first_name, lea.title, lea.phone) == ("Lea", "CTO", "+47 22")  # empty cells kept old values


def test_duplicates_skip_leaves_existing_contacts_alone(make_contact, csv_file, run_import):
    make_contact(email="lea@nordic-pumps.com", first_name="Leah")
    outcome, sink = run_import(csv_file(FILE), on_duplicate="skip")
    tally = outcome.tally
    assert (tally.created, tally.updated, tally.skipped, tally.rejected) == (1, 0, 1, 1)
    assert list(sink.reasons()) == [3]
    contacts = _contacts()
    assert contacts["ana@iberia-valves.com"].title == "Buyer"  # the first row won
    assert contacts["lea@nordic-pumps.com"].first_name == "Leah"


def test_a_repeat_in_a_later_batch_is_reported_with_both_lines(csv_file, run_import):
    rows = "".join(f"user{n}@acme-widgets.com,User{n}\n" for n in range(7))
    rows += "USER1@ACME-WIDGETS.COM,Again\n"
    outcome, sink = run_import(csv_file("email,first name\n" + rows), on_duplicate="update", batch_size=3)
    assert (outcome.tally.created, outcome.tally.updated, outcome.tally.rejected) == (7, 0, 1)
    assert "already on line 3" in sink.reasons()[9] and "lines 3 and 9" in sink.reasons()[9]
    assert _contacts()["user1@acme-widgets.com"].first_name == "User1"


def test_duplicates_in_the_database_are_found_across_batches(make_contact, csv_file, run_import):
    make_contact(email="user5@acme-widgets.com", first_name="Old")
    rows = "".join(f"user{n}@acme-widgets.com,User{n}\n" for n in range(7))
    outcome, _sink = run_import(csv_file("email,first name\n" + rows), on_duplicate="update", batch_size=3)
    assert (outcome.tally.created, outcome.tally.updated) == (6, 1)
    assert _contacts()["user5@acme-widgets.com"].first_name == "User5"


def test_each_created_contact_gets_one_created_activity_and_a_company(csv_file, run_import):
    run_import(csv_file(FILE), on_duplicate="update")
    ana = _contacts()["ana@iberia-valves.com"]
    activities = db.session.scalars(select(Activity).where(Activity.contact_id == ana.id)).all()
    assert [(a.kind, a.details, a.company_id) for a in activities] == [
        ("contact_created", {"source": "import"}, ana.company_id)]
    assert ana.company.domain == "iberia-valves.com" and ana.company.name == "Iberia Valves"
    assert ana.source == "import"


def test_free_mail_addresses_get_no_company_and_companies_are_shared(csv_file, run_import):
    run_import(csv_file("email\nbob@gmail.com\nann@acme-widgets.com\ntom@acme-widgets.com\n"))
    contacts = _contacts()
    assert contacts["bob@gmail.com"].company_id is None
    assert contacts["ann@acme-widgets.com"].company_id == contacts["tom@acme-widgets.com"].company_id


def test_a_rep_cannot_overwrite_a_colleagues_contact(alice, charlie, make_contact, csv_file, run_import):
    make_contact(email="lea@nordic-pumps.com", first_name="Leah", actor=charlie)
    outcome, sink = run_import(csv_file("email,first name\nlea@nordic-pumps.com,Lea\nnew@nordic-pumps.com,New\n"),
                               actor=alice, on_duplicate="update")
    assert outcome.tally.rejected == 1
    assert "belongs to someone" in sink.reasons()[2]
    contacts = _contacts()
    assert contacts["lea@nordic-pumps.com"].first_name == "Leah"
    assert contacts["new@nordic-pumps.com"].owner_id == alice.id  # a rep owns what they import


def test_owner_column_assigns_sales_users_and_rejects_others(alice, pat, csv_file, run_import):
    path = csv_file(
        "email,owner\n"
        f"a@acme-widgets.com,{alice.email.upper()}\n"
        f"b@acme-widgets.com,{pat.email}\n"
        "c@acme-widgets.com,nobody@acme-sales.com\n"
    )
    _outcome, sink = run_import(path)
    assert db.session.scalar(select(Contact.owner_id).where(Contact.email == "a@acme-widgets.com")) == alice.id
    reasons = sink.reasons()
    assert "not a sales user" in reasons[3] and "no active user" in reasons[4]
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_updates_with_different_columns_in_one_batch_each_change_only_their_own(make_contact, csv_file, run_import):
    make_contact(email="a@acme-widgets.com", first_name="A", title="Old A", phone="1")
    make_contact(email="b@acme-widgets.com", first_name="B", title="Old B", phone="2")
    path = csv_file("email,title,phone,website\n"
                    "a@acme-widgets.com,New A,,\n"
                    "b@acme-widgets.com,,22,new-home.com\n")
    outcome, _sink = run_import(path, on_duplicate="update")
    assert outcome.tally.updated == 2
    contacts = _contacts()
    a, b = contacts["a@acme-widgets.com"], contacts["b@acme-widgets.com"]
    assert (a.title, a.phone) == ("New A", "1")
    assert (b.title, b.phone, b.company.domain) == ("Old B", "22", "new-home.com")
    assert a.company.domain == "acme-widgets.com"  # unchanged: its row named no company


def test_a_batch_with_an_existing_email_undoes_its_first_attempt_whole(make_contact, csv_file, run_import):
    """On SQLite a batch is first written as if every email were new, and undone if one exists
    (see ``ContactBatchWriter._insert_if_all_new``). The undone attempt leaves nothing behind:
    no contact, no timeline row, and no company it created, which the import creates again
    for real (a company remembered from the undone attempt would point nowhere)."""
    make_contact(email="lea@nordic-pumps.com", first_name="Leah")
    activities_before = db.session.scalar(select(func.count()).select_from(Activity))
    path = csv_file("email,first name\nnew.person@brand-new-co.com,New\nlea@nordic-pumps.com,Lea\n"
                    "other@another-new-co.com,Other\n")
    outcome, sink = run_import(path, on_duplicate="update")
    assert (outcome.tally.created, outcome.tally.updated, outcome.tally.rejected) == (2, 1, 0)
    contacts = _contacts()
    assert len(contacts) == 3 and contacts["lea@nordic-pumps.com"].first_name == "Lea"
    assert contacts["new.person@brand-new-co.com"].company.domain == "brand-new-co.com"
    assert contacts["other@another-new-co.com"].company.domain == "another-new-co.com"
    activities = db.session.scalar(select(func.count()).select_from(Activity))
    assert activities == activities_before + 2  # one "created" entry per new contact, none twice
    domains = db.session.scalars(select(Company.domain).order_by(Company.domain)).all()
    assert domains.count("brand-new-co.com") == 1 and domains.count("another-new-co.com") == 1
