"""Each batch is one transaction: a database failure rolls back its whole batch, which is
reported row by row, and the other batches land."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from crm.contacts.models import Activity, Company, Contact
from crm.contacts.services import create_contact
from crm.extensions import db
from crm.imports import contacts as contact_import
from tests.conftest import NOW


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_failing_batch_is_rolled_back_whole_and_the_others_land(monkeypatch, csv_file, run_import):
    rows = "".join(f"person{n}@company{n}.com\n" for n in range(10))
    real_insert = contact_import.ContactBatchWriter._insert
    calls = []

    def insert_then_fail_second_batch(self, rows, *args, **options):
        calls.append(len(rows))
        created = real_insert(self, rows, *args, **options)  # the rows are written (flushed) ...
        if len(calls) == 2:                  # ... and then the database gives up
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return created

    monkeypatch.setattr(contact_import.ContactBatchWriter, "_insert", insert_then_fail_second_batch)
    outcome, sink = run_import(csv_file("email\n" + rows), batch_size=4)

    assert calls == [4, 4, 2]
    emails = set(db.session.scalars(select(Contact.email)))
    assert emails == {f"person{n}@company{n}.com" for n in (0, 1, 2, 3, 8, 9)}
    assert _count(Activity) == 6 and _count(Company) == 6  # no half-written batch anywhere
    tally = outcome.tally
    assert (tally.rows_seen, tally.created, tally.rejected) == (10, 6, 4)
    reasons = sink.reasons()
    assert sorted(reasons) == [6, 7, 8, 9]
    assert "batch of lines 6-9 failed" in reasons[6] and "disk I/O error" in reasons[6]


def test_a_company_created_by_a_failed_batch_is_created_again_later(monkeypatch, csv_file, run_import):
    """The per-import company cache forgets what a rolled-back batch created."""
    real_write = contact_import.ContactBatchWriter.write
    calls = []

    def fail_first(self, batch):
        calls.append(1)
        result = real_write(self, batch)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("deadlock detected"))
        return result

    monkeypatch.setattr(contact_import.ContactBatchWriter, "write", fail_first)
    path = csv_file("email\na@shared-co.com\nb@shared-co.com\nc@shared-co.com\n")
    outcome, _sink = run_import(path, batch_size=2)
    assert outcome.tally.created == 1
    contact = db.session.scalar(select(Contact))
    assert contact.email == "c@shared-co.com" and contact.company.domain == "shared-co.com"


def test_counters_after_each_batch_only_grow(csv_file, run_import):
    rows = "".join(f"p{n}@acme-widgets.com\n" for n in range(9)) + "bad\n"
    _outcome, sink = run_import(csv_file("email\n" + rows), batch_size=4)
    assert [t.rows_seen for t in sink.tallies] == [4, 8, 10]
    assert [t.created for t in sink.tallies] == [4, 8, 9]
    bytes_read = [t.bytes_read for t in sink.tallies]
    assert bytes_read == sorted(bytes_read) and bytes_read[-1] == sink.tallies[-1].total_bytes


def test_a_row_the_database_itself_refuses_rolls_back_its_batch_with_the_database_reason(
        monkeypatch, admin, csv_file, run_import):
    """A real refusal by the database in the bulk insert itself (SQLite's executemany,
    PostgreSQL's COPY): here a contact that exists but that the duplicate check was made to
    miss, so the insert hits the unique email. Its batch is rolled back and reported with the
    database's own words; the batches around it land with their timeline rows."""
    create_contact(admin, {"email": "taken@acme-widgets.com"}, NOW)
    db.session.commit()
    monkeypatch.setattr(contact_import.ContactBatchWriter, "_existing", lambda self, emails: {})
    rows = "".join(f"person{n}@company{n}.com\n" for n in range(4)) + "taken@acme-widgets.com\n" + \
        "".join(f"person{n}@company{n}.com\n" for n in range(4, 10))
    outcome, sink = run_import(csv_file("email\n" + rows), batch_size=4)

    emails = set(db.session.scalars(select(Contact.email)))
    assert emails == {"taken@acme-widgets.com"} | {f"person{n}@company{n}.com" for n in (0, 1, 2, 3, 7, 8, 9)}
    assert _count(Activity) == 1 + 7
    tally = outcome.tally
    assert (tally.rows_seen, tally.created, tally.rejected) == (11, 7, 4)
    reasons = sink.reasons()
    assert sorted(reasons) == [6, 7, 8, 9]
    assert "batch of lines 6-9 failed in the database" in reasons[6]
    assert "unique" in reasons[6].lower() or "duplicate" in reasons[6].lower()


def test_new_contacts_get_every_default_whatever_columns_a_batch_leaves_empty(alice, csv_file, run_import):
    """A batch's rows are written with the values they share given once (see ``BulkInsert``'s
    constants): a column empty in a whole batch and filled in the next, and the defaults no row
    sets (owner, source, flags, custom values, time stamps), all land as on any new contact."""
    path = csv_file("email,first name,job title,lifecycle stage\n"
                    "ann@alpha-co.com,Ann,,\n"           # batch 1: no title, no stage at all
                    "ben@beta-co.com,,,\n"
                    "cid@gmail.com,Cid,Buyer,MQL\n"      # batch 2: titles and stages
                    "dee@delta-co.com,,CFO,\n")
    outcome, sink = run_import(path, actor=alice, batch_size=2)
    assert (outcome.tally.created, outcome.tally.rejected) == (4, 0), sink.reasons()
    contacts = {c.email: c for c in db.session.scalars(select(Contact))}
    expected = {"ann@alpha-co.com": ("Ann", None, "lead", "alpha-co.com"),
                "ben@beta-co.com": ("", None, "lead", "beta-co.com"),
                "cid@gmail.com": ("Cid", "Buyer", "mql", None),
                "dee@delta-co.com": ("", "CFO", "lead", "delta-co.com")}
    for email, (first, title, stage, domain) in expected.items():
        c = contacts[email]
        assert (c.first_name, c.last_name, c.title, c.lifecycle_stage) == (first, "", title, stage)
        assert (c.company.domain if c.company else None) == domain
        assert (c.owner_id, c.source, c.custom) == (alice.id, "import", {})
        assert (c.do_not_contact, c.unsubscribed) == (False, False)
        assert (c.phone, c.time_zone, c.language, c.linkedin_url, c.x_url) == (None,) * 5
        assert c.created_at == NOW and c.updated_at == NOW
        [entry] = db.session.scalars(select(Activity).where(Activity.contact_id == c.id))
        assert (entry.kind, entry.occurred_at, entry.user_id, entry.details) == \
            ("contact_created", NOW, alice.id, {"source": "import"})
        assert entry.company_id == c.company_id
