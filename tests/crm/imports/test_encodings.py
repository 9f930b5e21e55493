"""The encoding is detected (UTF-8 with or without BOM, else charset-normalizer, cp1252 for
Western text) or chosen; bytes invalid in a chosen encoding reject their row, naming the
encoding, instead of crashing or mangling text."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.contacts.models import Contact
from crm.extensions import db
from crm.imports.reader import ImportAborted

CP1252_FILE = "Email,First Name,Last Name\nzoe@acme-widgets.com,Zoë,Lefèvre\nbob@acme-widgets.com,Bob,Smith\n"


def _names():
    return dict(db.session.execute(select(Contact.email, Contact.first_name + " " + Contact.last_name)).all())


def test_cp1252_file_imports_cleanly_with_its_encoding(csv_file, run_import):
    outcome, sink = run_import(csv_file(CP1252_FILE, encoding="cp1252"), encoding="cp1252")
    assert not sink.rejections and outcome.tally.created == 2
    assert _names()["zoe@acme-widgets.com"] == "Zoë Lefèvre"


def test_a_cp1252_file_is_detected_without_being_told(csv_file, run_import):
    outcome, sink = run_import(csv_file(CP1252_FILE, encoding="cp1252"))
    assert not sink.rejections and outcome.tally.created == 2
    assert outcome.detected.encoding == "cp1252" and outcome.detected.encoding_guessed
    assert _names()["zoe@acme-widgets.com"] == "Zoë Lefèvre"


def test_cp1252_file_read_as_utf8_rejects_only_the_rows_with_invalid_bytes(csv_file, run_import):
    outcome, sink = run_import(csv_file(CP1252_FILE, encoding="cp1252"), encoding="utf-8")
    assert outcome.tally.created == 1 and outcome.tally.rejected == 1
    reason = sink.reasons()[2]
    assert "byte 0xeb on line 2 is not valid utf-8" in reason and "cp1252" in reason
    assert list(_names()) == ["bob@acme-widgets.com"]  # nothing half-decoded was stored


def test_invalid_bytes_inside_a_multiline_field_reject_that_record(csv_file, run_import):
    data = b'email,title\na@acme-widgets.com,"Head of\n\xe9quipe"\nb@acme-widgets.com,Buyer\n'
    _outcome, sink = run_import(csv_file(data), encoding="utf-8")
    assert list(sink.reasons()) == [2]
    assert "line 3" in sink.reasons()[2]


def test_utf8_with_byte_order_mark_reads_the_first_header(csv_file, run_import):
    outcome, sink = run_import(csv_file("\ufeffEmail,First Name\nzoe@acme-widgets.com,Zoë\n"))
    assert outcome.mapping.targets == ["email", "first_name"]
    assert _names() == {"zoe@acme-widgets.com": "Zoë "}


def test_unknown_and_utf16_encodings_are_refused_up_front(csv_file, run_import):
    with pytest.raises(ImportAborted, match="unknown encoding"):
        run_import(csv_file(CP1252_FILE), encoding="klingon")
    with pytest.raises(ImportAborted, match="UTF-16.*save it as CSV UTF-8"):
        run_import(csv_file(CP1252_FILE, encoding="utf-16"))
    with pytest.raises(ImportAborted, match="not supported"):
        run_import(csv_file(CP1252_FILE), encoding="utf-16-le")


def test_windows_line_endings_work_and_old_mac_ones_get_a_clear_message(csv_file, run_import):
    outcome, sink = run_import(csv_file('email,title\r\na@acme-widgets.com,"Head of\r\nSales"\r\nbad,X\r\n'))
    assert outcome.tally.created == 1 and list(sink.reasons()) == [4]
    with pytest.raises(ImportAborted, match="bare carriage return"):
        run_import(csv_file("email,title\ra@acme-widgets.com,Buyer\r"))


@pytest.mark.parametrize("name", ["rot13", "base64", "undefined", "zlib", "a\x00b"])
def test_codecs_that_cannot_read_text_are_refused_up_front(csv_file, run_import, name):
    with pytest.raises(ImportAborted, match="try utf-8, cp1252 or latin-1"):
        run_import(csv_file(CP1252_FILE), encoding=name)
