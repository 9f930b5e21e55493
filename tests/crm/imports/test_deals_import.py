"""Deals with lines: rows sharing a deal id (or name) make one deal, written through the deal
services so the DealChange history and timeline rows exist as if typed in."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.contacts.models import Activity, Company
from crm.deals.models import Deal, DealChange, DealLine
from crm.extensions import db
from crm.imports.reader import ImportAborted

HEADER = ("Deal ID,Deal Name,Company Domain,Contact Email,Owner,Stage,Close Date,Product Family,Qty,Unit Price,"
          "Status,Closed On,Lost Reason,Created On\n")


@pytest.fixture
def deal_setup(stages, families, make_contact, alice):
    make_contact(email="ana@iberia-valves.com")
    return stages


def _deals():
    return {d.name: d for d in db.session.scalars(select(Deal))}


def test_rows_with_the_same_deal_id_become_one_deal_with_lines(deal_setup, alice, csv_file, run_import):
    path = csv_file(HEADER +
        f"D-1,Iberia pumps,iberia-valves.com,Ana@Iberia-Valves.com,{alice.email},qualified,2026-06-30,"
        "PUMP,10,1200.00,,,,2026-01-15\n"
        "D-1,Iberia pumps,,,,Qualified,2026-06-30,valve,40,85.5,,,,\n"
        "D-2,Nordic valves,nordic-pumps.com,,,Proposal,2026-05-31,VALVE,100,80,won,2026-03-01,,\n"
        "D-3,Lost deal,,,,Prospecting,2026-04-30,PUMP,1,999,lost,2026-02-20,Price too high,\n"
    )
    outcome, sink = run_import(path, kind="deals")
    assert not sink.rejections
    assert (outcome.tally.rows_seen, outcome.tally.created) == (4, 3)
    deals = _deals()
    iberia = deals["Iberia pumps"]
    assert [(line.family.code, line.quantity, line.unit_price) for line in iberia.lines] == [
        ("PUMP", 10.0, Decimal("1200.00")), ("VALVE", 40.0, Decimal("85.50"))]
    assert iberia.amount == Decimal("15420.00")
    assert iberia.stage.name == "Qualified" and iberia.expected_close == date(2026, 6, 30)
    assert iberia.owner_id == alice.id and iberia.contact.email == "ana@iberia-valves.com"
    assert iberia.company.domain == "iberia-valves.com" and iberia.source == "import:D-1"
    assert iberia.created_at.date() == date(2026, 1, 15)
    won, lost = deals["Nordic valves"], deals["Lost deal"]
    assert (won.status, won.closed_on) == ("won", date(2026, 3, 1))
    assert (lost.status, lost.lost_reason) == ("lost", "Price too high")
    assert db.session.scalar(select(Company.name).where(Company.domain == "nordic-pumps.com")) == "Nordic Pumps"


def test_imported_deals_have_their_change_history(deal_setup, csv_file, run_import):
    path = csv_file(HEADER + "D-2,Nordic valves,,,,Proposal,2026-05-31,VALVE,100,80,won,2026-03-01,,2026-01-10\n")
    run_import(path, kind="deals")
    deal = _deals()["Nordic valves"]
    changes = db.session.scalars(
        select(DealChange).where(DealChange.deal_id == deal.id).order_by(DealChange.id)).all()
    by_field = [(c.field, c.new_value) for c in changes]
    assert ("stage", "Proposal") in by_field and ("amount", "8000.00") in by_field
    assert ("status", "open") in by_field and ("status", "won") in by_field
    created = [c for c in changes if c.field == "stage"][0]
    assert created.old_value is None and created.changed_at.date() == date(2026, 1, 10)
    kinds = set(db.session.scalars(select(Activity.kind).where(Activity.deal_id == deal.id)))
    assert kinds == {"deal_created", "deal_won"}


def test_a_bad_line_rejects_its_whole_deal_and_names_the_line(deal_setup, csv_file, run_import):
    path = csv_file(HEADER +
        "D-1,Iberia pumps,,,,Qualified,2026-06-30,PUMP,10,1200,,,,\n"
        "D-1,Iberia pumps,,,,Qualified,2026-06-30,PUMP,-5,1200,,,,\n"
        "D-1,Iberia pumps,,,,Qualified,2026-06-30,GADGET,1,1,,,,\n"
        "D-4,Fine deal,,,,Qualified,2026-06-30,PUMP,1,1,,,,\n"
        "D-5,Odd stage,,,,Daydreaming,2026-06-30,PUMP,1,1,,,,\n"
        "D-6,No contact,,ghost@nowhere-corp.com,,Qualified,2026-06-30,PUMP,1,1,,,,\n"
        "D-7,Lost without reason,,,,Qualified,2026-06-30,PUMP,1,1,lost,2026-03-01,,\n"
    )
    outcome, sink = run_import(path, kind="deals")
    reasons = sink.reasons()
    assert sorted(reasons) == [2, 3, 4, 6, 7]
    assert reasons[2] == "deal 'Iberia pumps' not imported: see line 3"
    assert "quantity: a number above 0" in reasons[3]
    assert "family: unknown product family" in reasons[4]
    assert "unknown pipeline stage 'Daydreaming'" in reasons[6]
    assert "no contact ghost@nowhere-corp.com" in reasons[7]
    # Exports of lost deals rarely carry a reason: the import says so instead of refusing.
    assert sorted(_deals()) == ["Fine deal", "Lost without reason"]
    assert _deals()["Lost without reason"].lost_reason == "not given in the imported file"
    assert outcome.tally.created == 2
    assert db.session.scalar(select(func.count()).select_from(DealLine)) == 2


def test_reimporting_deal_ids_skips_or_updates_them(deal_setup, csv_file, run_import):
    first = HEADER + "D-1,Iberia pumps,,,,Qualified,2026-06-30,PUMP,10,100,,,,\n"
    run_import(csv_file(first), kind="deals")
    deal_id = _deals()["Iberia pumps"].id

    outcome, _ = run_import(csv_file(first.replace(",10,100,", ",20,100,")), kind="deals", on_duplicate="skip")
    assert (outcome.tally.created, outcome.tally.skipped) == (0, 1)
    assert db.session.get(Deal, deal_id).amount == Decimal("1000.00")

    again = HEADER + ("D-1,Iberia pumps,,,,Proposal,2026-07-31,PUMP,20,100,,,,\n"
                      "D-1,Iberia pumps,,,,Proposal,2026-07-31,VALVE,1,50,,,,\n")
    outcome, _ = run_import(csv_file(again), kind="deals", on_duplicate="update")
    assert (outcome.tally.created, outcome.tally.updated) == (0, 1)
    db.session.expire_all()
    deal = db.session.get(Deal, deal_id)
    assert deal.amount == Decimal("2050.00") and deal.stage.name == "Proposal"
    fields = [c.field for c in db.session.scalars(
        select(DealChange).where(DealChange.deal_id == deal_id, DealChange.changed_at.is_not(None)))]
    assert fields.count("stage") == 2 and fields.count("lines") == 2


def test_without_a_deal_id_rows_group_by_name(deal_setup, csv_file, run_import):
    path = csv_file(
        "name,stage,expected close,family,quantity,unit price\n"
        "Pumps for Lyon,Qualified,2026-06-30,PUMP,1,10\n"
        "Pumps for Lyon,Qualified,2026-06-30,VALVE,2,10\n"
        "Valves for Porto,Qualified,2026-06-30,VALVE,3,10\n"
        "pumps for lyon,Qualified,2026-06-30,PUMP,4,10\n"  # further down: added to the same deal
    )
    outcome, _sink = run_import(path, kind="deals", batch_size=2)
    deals = _deals()
    assert sorted(deals) == ["Pumps for Lyon", "Valves for Porto"]
    assert [line.quantity for line in deals["Pumps for Lyon"].lines] == [1.0, 2.0, 4.0]
    assert outcome.tally.created == 2


def test_deal_file_without_required_columns_is_refused(deal_setup, csv_file, run_import):
    with pytest.raises(ImportAborted, match="required column missing: Pipeline stage, Expected close"):
        run_import(csv_file("name,family,unit price\nA,PUMP,1\n"), kind="deals")


def test_a_failed_deal_batch_leaves_none_of_its_deals(deal_setup, monkeypatch, csv_file, run_import):
    """Each deal runs in a savepoint; releasing it must not commit the batch (pysqlite)."""
    from sqlalchemy.exc import OperationalError

    from crm.imports.deals import DealImporter

    real_write = DealImporter.write
    calls = []

    def fail_first_batch(self, batch):
        calls.append(len(batch))
        result = real_write(self, batch)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return result

    monkeypatch.setattr(DealImporter, "write", fail_first_batch)
    path = csv_file(HEADER + "".join(
        f"D-{n},Deal {n},,,,Qualified,2026-06-30,PUMP,1,10,,,,\n" for n in range(3)))
    outcome, sink = run_import(path, kind="deals", batch_size=2)
    assert calls == [2, 1]
    assert list(_deals()) == ["Deal 2"]
    assert sorted(sink.reasons()) == [2, 3] and outcome.tally.created == 1
    assert db.session.scalar(select(func.count()).select_from(DealChange)) == 5  # Deal 2's own
