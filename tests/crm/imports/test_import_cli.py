"""``flask crm import contacts|deals FILE``: options, report, rejects file, exit codes."""
from __future__ import annotations

import csv

from sqlalchemy import select

from crm.contacts.models import Contact
from crm.deals.models import Deal
from crm.extensions import db


def _invoke(app, *args):
    return app.test_cli_runner().invoke(args=["crm", "import", *map(str, args)])


def test_cli_imports_contacts_and_prints_counts_and_rejections(app, admin, csv_file):
    path = csv_file("E-mail,First Name,Notes\nana@iberia-valves.com,Ana,x\nbroken,Bob,y\n")
    result = _invoke(app, "contacts", path)
    assert result.exit_code == 0, result.output + result.stderr
    assert "2 rows; contacts created 1, updated 0, skipped 0; rows rejected 1" in result.output
    assert "ignored columns (no matching field): Notes" in result.output
    assert "line 3: email:" in result.stderr
    assert "Importing contacts" in result.stderr  # the progress bar
    assert db.session.scalar(select(Contact.email)) == "ana@iberia-valves.com"


def test_cli_options_map_encoding_owner_duplicates_and_rejects_file(app, alice, make_contact, csv_file, tmp_path):
    make_contact(email="lea@nordic-pumps.com", first_name="Leah")
    path = csv_file("Mail,Prénom\nzoe@acme-widgets.com,Zoë\nlea@nordic-pumps.com,Lea\nnope,X\n", encoding="cp1252")
    rejects = tmp_path / "rejects.csv"
    result = _invoke(app, "contacts", path, "--map", "Mail=email", "--map", "Prénom=first_name",
                     "--encoding", "cp1252", "--owner", alice.email, "--on-duplicate", "update",
                     "--rejects", rejects)
    assert result.exit_code == 0, result.output + result.stderr
    assert "created 1, updated 1" in result.output
    zoe = db.session.scalar(select(Contact).where(Contact.email == "zoe@acme-widgets.com"))
    assert (zoe.first_name, zoe.owner_id) == ("Zoë", alice.id)
    with open(rejects, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason"] and rows[1][0] == "4" and "email" in rows[1][1]


def test_cli_refuses_a_file_it_cannot_import_with_a_clear_error(app, admin, csv_file):
    result = _invoke(app, "contacts", csv_file("Name,Company\nAna,Iberia\n"))
    assert result.exit_code == 1
    assert "required column missing: Email" in result.stderr
    result = _invoke(app, "contacts", csv_file(""))
    assert result.exit_code == 1 and "the file is empty" in result.stderr
    result = _invoke(app, "contacts", csv_file("email\nx@acme-widgets.com\n"), "--map", "nonsense")
    assert result.exit_code == 2 and "CSV Header=field" in result.stderr
    result = _invoke(app, "contacts", csv_file("email\nx@acme-widgets.com\n"), "--owner", "ghost@acme-sales.com")
    assert result.exit_code == 2 and "no user ghost@acme-sales.com" in result.stderr


def test_cli_needs_someone_to_act_as(app, csv_file):
    result = _invoke(app, "contacts", csv_file("email\nx@acme-widgets.com\n"))
    assert result.exit_code == 2 and "no administrator exists yet" in result.stderr


def test_cli_imports_deals(app, admin, stages, families, csv_file):
    path = csv_file("deal id,name,stage,expected close,family,quantity,unit price\n"
                    "X1,Big order,Proposal,2026-09-30,PUMP,5,1000\nX1,Big order,Proposal,2026-09-30,VALVE,5,100\n")
    result = _invoke(app, "deals", path)
    assert result.exit_code == 0, result.output + result.stderr
    assert "deals created 1" in result.output
    deal = db.session.scalar(select(Deal))
    assert len(deal.lines) == 2 and str(deal.amount) == "5500.00"


def test_cli_reads_a_spanish_excel_file_and_a_salesforce_report_without_options(app, admin, make_user):
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "imports"
    make_user("rep", name="Rita Berger", email="rita.berger@acme-sales.com")
    make_user("rep", name="Sam Okafor", email="sam.okafor@acme-sales.com")
    result = _invoke(app, "contacts", fixtures / "excel-es-cp1252.csv")
    assert result.exit_code == 0, result.output + result.stderr
    assert "read as: encoding cp1252 (detected), separator semicolon (detected)" in result.output
    assert "4 rows; contacts created 4" in result.output
    result = _invoke(app, "contacts", fixtures / "salesforce-contacts-report.csv")
    assert result.exit_code == 0, result.output + result.stderr
    assert "contacts created 3" in result.output and "rows rejected 0" in result.output
    assert "line 13: report footer or summary line skipped: 'Copyright" in result.output
