"""``flask --app wsgi planning ...``: imports, calibrate, export, snapshot, accuracy."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from planning_bridge.contracts import DEMAND_COLUMNS
from planning_bridge.models import Actual, Snapshot
from tests.conftest import NOW


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["planning", *args])


@pytest.fixture
def pipeline(deal_at):
    deal_at(NOW, 2, date(2030, 12, 10), [("PUMP", 10, 100)])


def test_import_actuals_reports_counts_and_rejects_bad_files_whole(run, families, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("family,period,units,revenue\nPUMP,2025-11,40,\nVALVE,2025-11,9,\n")
    result = run("import-actuals", str(good))
    assert result.exit_code == 0 and "imported 2 actuals rows" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("family,period,units,revenue\nPUMP,2025-12,4,\nPUMP,2025-12,5,\nPUMP,20x5-01,1,\n")
    result = run("import-actuals", str(bad))
    assert result.exit_code == 1
    assert "line 3: duplicate period" in result.output and "line 4: period" in result.output
    assert "nothing was imported" in result.output
    assert db.session.scalar(select(func.count()).select_from(Actual)) == 2


def test_import_deals(run, families, stages, tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("deal_id,family,quantity,amount,stage,created_on,expected_close,closed_on,won\n"
                    "A,PUMP,3,300,Proposal,2026-01-01,2026-06-01,,\n")
    result = run("import-deals", str(path))
    assert result.exit_code == 0 and "imported 1 deals row" in result.output


def test_export_writes_the_demand_input_columns(run, pipeline, tmp_path):
    result = run("export", "--from", "2031-01", "--to", "2031-01", "--probabilities", "stage")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(DEMAND_COLUMNS) and rows[1][:4] == ["PUMP", "2031-01", "0", "5"]
    out = tmp_path / "demand.json"
    result = run("export", "--from", "2031-01", "--to", "2031-02", "--format", "json", "--output", str(out),
                 "--probabilities", "calibrated")
    assert result.exit_code == 0 and "fell back to stage" in result.output
    assert len(json.loads(out.read_text())["rows"]) == 4
    assert run("export", "--from", "2031-13").exit_code == 1


def test_snapshot_and_the_month_end_pair(run, pipeline):
    result = run("snapshot", "--from", "2031-01", "--to", "2031-02", "--probabilities", "stage")
    assert result.exit_code == 0 and result.output.startswith("snapshot ")
    assert run("snapshot", "--month-end").exit_code == 0
    assert "already there" in run("snapshot", "--month-end").output
    assert db.session.scalar(select(func.count()).select_from(Snapshot)) == 4  # 1 + chosen, stage, calibrated


def test_calibrate_and_accuracy_print_their_reports(run, families):
    result = run("calibrate")
    assert result.exit_code == 0 and result.output.startswith("stage ") and "calibrated" in result.output
    result = run("accuracy", "--lags", "1,2")
    assert result.exit_code == 0 and "no past month" in result.output
    assert run("accuracy", "--lags", "one").exit_code == 2
