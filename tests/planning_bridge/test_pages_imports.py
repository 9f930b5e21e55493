"""Planning imports from the page: a good file lands, a file with bad rows changes nothing and
lists every bad row with its line number; junk uploads get a clear message."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from planning_bridge.crm_port import db
from planning_bridge.models import Actual, ImportedDealLine
from tests.conftest import csrf_from


@pytest.fixture
def planner(client, login, pat, families):
    login(client, pat)
    return pat


def _upload(client, kind: str, content: bytes, filename: str = "data.csv", mimetype: str = "text/csv"):
    token = csrf_from(client.get("/planning/imports").get_data(as_text=True))
    return client.post(f"/planning/imports/{kind}", content_type="multipart/form-data", data={
        "csrf_token": token, f"{kind}-file": (io.BytesIO(content), filename, mimetype)})


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_actuals_file_is_imported(client, planner):
    response = _upload(client, "actuals", b"family,period,units,revenue\nPUMP,2025-11,240,356000.00\n"
                                          b"VALVE,2025-11,80,\n")
    assert response.status_code == 200
    assert "Actuals imported: 2 rows" in response.get_data(as_text=True)
    assert _count(Actual) == 2


def test_deals_file_is_imported(client, planner, stages):
    response = _upload(client, "deals", (
        "deal_id,family,quantity,amount,stage,created_on,expected_close,closed_on,won,probability\n"
        "D-1,PUMP,12,18000.00,Proposal,2026-01-15,2030-06-30,,,0.4\n"
        "D-2,VALVE,5,500.00,Qualified,2026-01-20,2030-03-31,,,\n").encode())
    assert response.status_code == 200
    assert "Deals imported: 2 rows" in response.get_data(as_text=True)
    assert _count(ImportedDealLine) == 2


def test_bad_rows_are_listed_with_line_numbers_and_nothing_changes(client, planner):
    _upload(client, "actuals", b"family,period,units,revenue\nPUMP,2025-10,100,\n")
    response = _upload(client, "actuals", (
        b"family,period,units,revenue\n"
        b"PUMP,2025-11,240,\n"
        b"NOSUCH,2025-11,10,\n"
        b"VALVE,2025-13,10,\n"
        b"VALVE,2025-12,-3,\n"
        b"PUMP,2025-11,5,\n"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported: 4 of 5 rows" in html
    lines = [int(n) for n in re.findall(r'<td data-label="Line" class="num">(\d+)</td>', html)]
    assert lines == [3, 4, 5, 6]
    assert _count(Actual) == 1  # only the earlier file's row


def test_excel_workbook_renamed_to_csv_is_refused(client, planner):
    response = _upload(client, "actuals", b"PK\x03\x04 not really a csv")
    assert response.status_code == 400
    assert "Excel workbook" in response.get_data(as_text=True)


def test_a_missing_file_is_a_form_error(client, planner):
    token = csrf_from(client.get("/planning/imports").get_data(as_text=True))
    response = client.post("/planning/imports/deals", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Choose a file." in response.get_data(as_text=True)


def test_upload_needs_the_csrf_token(client, planner):
    response = client.post("/planning/imports/actuals", content_type="multipart/form-data", data={
        "actuals-file": (io.BytesIO(b"family,period,units,revenue\nPUMP,2025-11,1,\n"), "a.csv", "text/csv")})
    assert response.status_code == 400
    assert _count(Actual) == 0


def test_unknown_import_kind_is_not_found(client, planner):
    token = csrf_from(client.get("/planning/imports").get_data(as_text=True))
    assert client.post("/planning/imports/contacts", data={"csrf_token": token}).status_code == 404


def test_a_file_with_the_wrong_columns_says_so(client, planner):
    response = _upload(client, "actuals", b"sku,month,qty\nPUMP,2025-11,240\n")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "the actuals file cannot be read as it is" in html
    assert "missing columns: family, period, units" in html


def test_a_file_over_the_upload_limit_gets_a_clear_answer(app, client, planner):
    token = csrf_from(client.get("/planning/imports").get_data(as_text=True))
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2048
    try:
        response = client.post("/planning/imports/actuals", content_type="multipart/form-data", data={
            "csrf_token": token, "actuals-file": (io.BytesIO(b"x" * 4096), "big.csv", "text/csv")})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "The file is larger than the" in html and "Import actuals" in html  # the page again, with the message
    assert _count(Actual) == 0
