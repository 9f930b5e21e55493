"""Every rejected row is reported with its physical line number and the reason."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.contacts.models import Contact
from crm.extensions import db
from crm.imports.reader import ImportAborted


def _count():
    return db.session.scalar(select(func.count()).select_from(Contact))


def test_bad_emails_are_rejected_with_their_line_numbers(csv_file, run_import):
    path = csv_file(
        "email,first name\n"
        "good@acme-widgets.com,Good\n"
        "not-an-email,Bad\n"
        ",No email\n"
        "two@@acme-widgets.com,Bad\n"
        "fine@acme-widgets.com,Fine\n"
    )
    outcome, sink = run_import(path)
    reasons = sink.reasons()
    assert sorted(reasons) == [3, 4, 5]
    assert reasons[3] == "email: an email address needs an @ (name@example.com)"
    assert reasons[4] == "email: empty"
    assert outcome.tally.created == 2 and outcome.tally.rejected == 3 and _count() == 2


def test_line_numbers_count_physical_lines_when_a_quoted_field_spans_two(csv_file, run_import):
    path = csv_file(
        'email,title\n'
        'a@acme-widgets.com,"Head of\nPurchasing"\n'   # lines 2-3
        'broken-address,Buyer\n'                       # line 4
        'b@acme-widgets.com,"Plant\n\nManager"\n'     # lines 5-7
        'c@acme-widgets,Engineer\n'                    # line 8
    )
    _outcome, sink = run_import(path)
    assert sorted(sink.reasons()) == [4, 8]
    title = db.session.scalar(select(Contact.title).where(Contact.email == "a@acme-widgets.com"))
    assert title == "Head of\nPurchasing"


def test_every_bad_field_of_a_row_is_named(csv_file, run_import):
    path = csv_file(
        "email,time zone,lifecycle stage,linkedin,do not contact\n"
        "a@acme-widgets.com,Mars/Olympus,hot,linkedin.com/in/a,perhaps\n"
    )
    _outcome, sink = run_import(path)
    reason = sink.reasons()[2]
    for field in ("time_zone", "lifecycle_stage", "linkedin_url", "do_not_contact"):
        assert field in reason


def test_extra_cells_beyond_the_header_reject_the_row_but_trailing_empty_ones_do_not(csv_file, run_import):
    path = csv_file(
        "email,first name\n"
        "a@acme-widgets.com,Ann,,\n"
        "b@acme-widgets.com,Bob,Smith,extra\n"
        "c@acme-widgets.com\n"  # fewer cells: the missing ones are empty
    )
    outcome, sink = run_import(path)
    assert list(sink.reasons()) == [3]
    assert "4 fields but the header has 2" in sink.reasons()[3]
    assert outcome.tally.created == 2


def test_blank_lines_are_skipped_silently(csv_file, run_import):
    outcome, sink = run_import(csv_file("email\n\na@acme-widgets.com\n,\n\nb@acme-widgets.com\n"))
    assert outcome.tally.created == 2 and not sink.rejections


def test_empty_and_header_only_files_get_a_clear_message(csv_file, run_import):
    with pytest.raises(ImportAborted, match="the file is empty"):
        run_import(csv_file(""))
    with pytest.raises(ImportAborted, match="header line but no rows"):
        run_import(csv_file("email,first name\n"))
    assert _count() == 0


def test_control_characters_reject_their_row_not_the_whole_batch(csv_file, run_import):
    """PostgreSQL refuses NUL in text outright: such a row must be refused on its own."""
    path = csv_file(
        "email,first name,company\n"
        "a@acme-widgets.com,Ann,Acme\x00Corp\n"
        "b@acme-widgets.com,B\x00b,\n"
        "c@acme-widgets.com,Cy,\n"
    )
    outcome, sink = run_import(path)
    reasons = sink.reasons()
    assert sorted(reasons) == [2, 3]
    assert "company: contains control characters" in reasons[2]
    assert "first_name: contains control characters" in reasons[3]
    assert outcome.tally.created == 1 and _count() == 1
