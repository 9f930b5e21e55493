"""CSV imports of deals from another CRM and of actual orders: good files land, a file with
any bad row is rejected whole with every bad line named, and nothing else changes."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from planning_bridge.models import Actual, ImportedDealLine
from planning_bridge.services import actuals_by_family, demand_input, import_actuals_csv, import_deals_csv

TODAY = date(2026, 3, 10)
DEALS_HEADER = "deal_id,family,quantity,amount,stage,created_on,expected_close,closed_on,won,probability\n"
GOOD_DEALS = DEALS_HEADER + (
    "SF-1,PUMP,10,1000.00,Commit,2026-01-10,2026-06-10,,,0.6\n"
    "SF-1,VALVE,4,80,Commit,2026-01-10,2026-06-10,,,0.6\n"
    "SF-2,PUMP,3,300,Proposal,2026-02-01,2026-07-01,,,\n"          # a CRM stage: its default 0.5
    "SF-3,PUMP,50,5000,Closed Lost,2025-10-01,2026-01-15,2026-01-20,false,0.9\n"  # closed: never pipeline
)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_imported_deals_join_the_pipeline_with_their_own_probability(stages, families):
    result = import_deals_csv(io.BytesIO(GOOD_DEALS.encode()))
    db.session.commit()
    assert result.ok and (result.rows, result.accepted) == (4, 4)
    rows = {(r.family, r.period): r for r in demand_input(start="2026-07", end="2026-07",
                                                          probabilities="stage", today=TODAY)}
    # SF-1 PUMP due 2026-06-10 + 30 = 2026-07-10 at 0.6; SF-2 due 2026-07-31 at 0.5
    assert rows[("PUMP", "2026-07")].weighted_units == pytest.approx(10 * 0.6 + 3 * 0.5)
    assert rows[("PUMP", "2026-07")].deal_count == 2
    calibrated = demand_input(start="2026-07", end="2026-07", today=TODAY)  # imports keep theirs
    assert [r.weighted_units for r in calibrated] == [r.weighted_units for r in rows.values()]


def test_a_new_deals_file_replaces_the_previous_import(stages, families):
    import_deals_csv(io.BytesIO(GOOD_DEALS.encode()))
    result = import_deals_csv(io.BytesIO((DEALS_HEADER + "X,PUMP,1,1,Proposal,2026-01-01,2026-05-01,,,\n").encode()))
    db.session.commit()
    assert result.replaced == 4 and count(ImportedDealLine) == 1


BAD_DEALS = DEALS_HEADER + (
    "A,PUMP,10,100,Proposal,2026-01-10,2026-06-10,,,\n"       # line 2 fine
    "B,GADGET,1,10,Proposal,2026-01-10,2026-06-10,,,\n"       # 3 unknown family
    "C,PUMP,-4,10,Proposal,2026-01-10,2026-06-10,,,\n"        # 4 negative quantity
    "D,PUMP,1,10,Proposal,2026-02-30,2026-06-10,,,\n"         # 5 impossible date
    "E,PUMP,1,10,Proposal,2026-01-10,2026-06-10,2026-05-01,,\n"  # 6 closed without outcome
    "F,PUMP,1,10,Mystery,2026-01-10,2026-06-10,,,\n"          # 7 unknown stage, no probability
    "G,PUMP,1,10,Proposal,2026-01-10,2026-06-10,,,1.5\n"      # 8 probability out of range
    "A,VALVE,1,10,Qualified,2026-01-10,2026-06-10,,,\n"       # 9 same deal, other stage
    "H,PUMP,1,10,Proposal,2026-03-10,2026-01-10,,,\n"         # 10 closes before it was created
    "I,PUMP,1\n"                                              # 11 short row
)


def test_every_bad_deal_row_is_named_and_nothing_changes(stages, families):
    import_deals_csv(io.BytesIO(GOOD_DEALS.encode()))
    db.session.commit()
    result = import_deals_csv(io.BytesIO(BAD_DEALS.encode()))
    assert not result.ok and result.accepted == 0
    messages = {r.line: r.message for r in result.rejected}
    assert sorted(messages) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "unknown family 'GADGET'" in messages[3]
    assert "negative quantity" in messages[4]
    assert "impossible date" in messages[5]
    assert "closed_on and won" in messages[6]
    assert "unknown stage" in messages[7]
    assert "between 0 and 1" in messages[8]
    assert "line 2" in messages[9]
    assert "before created_on" in messages[10]
    assert "values for" in messages[11]
    db.session.commit()
    assert count(ImportedDealLine) == 4  # the earlier import is untouched


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"deal_id,family\nA,PUMP\n", "missing columns"),
    (DEALS_HEADER.replace("won", "won,colour").encode(), "unknown columns: colour"),
    ("deal_id;family\n".encode("utf-16"), "not UTF-8"),
])
def test_an_unusable_file_is_rejected_at_line_one(families, content, message):
    result = import_deals_csv(io.BytesIO(content))
    assert [r.line for r in result.rejected] == [1] and message in result.rejected[0].message


ACTUALS = "family,period,units,revenue\nPUMP,2025-11,40,98000\nPUMP,2025-12,35,\nVALVE,2025-12,300,54000.50\n"


def test_actuals_are_written_per_family_and_month_and_replace_the_same_month(families):
    assert import_actuals_csv(io.BytesIO(ACTUALS.encode())).accepted == 3
    again = import_actuals_csv(io.BytesIO(b"family,period,units,revenue\nPUMP,2025-12,36,1\n"))
    db.session.commit()
    assert again.replaced == 1 and count(Actual) == 3
    assert actuals_by_family("2025-01", "2025-12") == {"PUMP": {"2025-11": 40, "2025-12": 36},
                                                       "VALVE": {"2025-12": 300}}


def test_bad_actual_rows_are_named_and_nothing_changes(families):
    import_actuals_csv(io.BytesIO(ACTUALS.encode()))
    db.session.commit()
    bad = ("family,period,units,revenue\n"
           "PUMP,2026-01,10,1\n"        # 2 fine
           "PUMP,2026-13,10,1\n"        # 3 impossible month
           "PUMP,2026-01,12,1\n"        # 4 duplicate period
           "PUMP,2026-02,-5,1\n"        # 5 negative units
           "GADGET,2026-02,5,1\n"       # 6 unknown family
           "VALVE,2026-02,many,1\n")    # 7 not a number
    result = import_actuals_csv(io.BytesIO(bad.encode()))
    messages = {r.line: r.message for r in result.rejected}
    assert sorted(messages) == [3, 4, 5, 6, 7]
    assert "first on line 2" in messages[4] and "negative units" in messages[5]
    db.session.commit()
    assert count(Actual) == 3


def test_a_path_works_as_well_as_a_stream(families, tmp_path):
    path = tmp_path / "actuals.csv"
    path.write_text("\ufeff" + ACTUALS, encoding="utf-8")  # a BOM, as spreadsheets write it
    assert import_actuals_csv(path).accepted == 3
