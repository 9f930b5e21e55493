"""``flask planning cycle open|status|publish`` and ``planning import-plan`` /
``import-business-plan``."""
from __future__ import annotations

import pytest

from crm.extensions import db
from planning_bridge.sop.models import BusinessPlanCell, Cycle, PlanVersion
from tests.planning_bridge.sop.conftest import CYCLE_MONTH, FIRST

CLEAR = {"CRM_LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None}  # the locale variables LANG yields to


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["planning", *args])


def test_open_status_publish(run, families, stages):
    opened = run("cycle", "open")  # default: the month just ended, from the frozen clock
    assert opened.exit_code == 0, opened.output
    assert f"cycle {CYCLE_MONTH} opened" in opened.output
    assert run("cycle", "open", "--month", CYCLE_MONTH).exit_code == 1  # exists already
    status = run("cycle", "status")
    assert "Demand review" in status.output and "in_progress" in status.output
    published = run("cycle", "publish", "--month", CYCLE_MONTH)
    assert published.exit_code == 0 and "version 1 published: 36 family-months" in published.output
    assert "plan version 1 (cycle): published" in run("cycle", "status", "--month", CYCLE_MONTH).output


def test_import_plan_lists_every_bad_line_and_publishes_good_files(run, families, stages, tmp_path):
    assert run("cycle", "open").exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(f"family,period,demand_units,capacity_units,revenue\nPUMP,{FIRST},x,1,1\nNOPE,{FIRST},1,1,1\n")
    result = run("import-plan", str(bad), "--cycle", CYCLE_MONTH)
    assert result.exit_code == 1
    assert "line 2: demand_units" in result.output and "line 3: unknown family" in result.output
    assert db.session.query(PlanVersion).count() == 0
    good = tmp_path / "good.csv"
    good.write_text(f"family,period,demand_units,capacity_units,revenue\nPUMP,{FIRST},3,4,300\n")
    result = run("import-plan", str(good), "--cycle", CYCLE_MONTH, "--publish")
    assert result.exit_code == 0 and "version 1: 1 row, published" in result.output
    assert db.session.query(PlanVersion).one().published_at is not None


def test_import_business_plan(run, families, tmp_path):
    plan = tmp_path / "bp.csv"
    plan.write_text(f"family,period,revenue\nPUMP,{FIRST},1000\n")
    result = run("import-business-plan", str(plan))
    assert result.exit_code == 0 and db.session.query(BusinessPlanCell).count() == 1
    assert db.session.query(Cycle).count() == 0


def test_status_names_the_steps_in_the_operators_language(app, run, families, stages):
    assert run("cycle", "open").exit_code == 0
    runner = app.test_cli_runner()
    spanish = runner.invoke(args=["planning", "cycle", "status"], env={**CLEAR, "LANG": "es_MX.UTF-8"})
    assert spanish.exit_code == 0, spanish.output
    assert "Recopilación de datos" in spanish.output and "Revisión de la demanda" in spanish.output
    assert "Data gathering" not in spanish.output
    english = runner.invoke(args=["planning", "cycle", "status"], env={**CLEAR, "LANG": "C"})
    assert "Data gathering" in english.output and "Recopilación" not in english.output
