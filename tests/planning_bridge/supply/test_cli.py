"""``flask planning aggregate-plan FILE.json`` prints the API's JSON; bad files say why."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.planning_bridge.supply.scenarios import RED_TOMATO


@pytest.fixture
def planning(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["planning", *args])


def test_prints_the_same_json_as_the_api(planning, tmp_path, call, pat):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({**RED_TOMATO, "integer_workers": True}))
    result = planning("aggregate-plan", str(path))
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert Decimal(printed["strategies"]["optimal"]["total_cost"]) == Decimal("422660.00")
    assert printed == call(pat, "POST", "/aggregate-plans", json={**RED_TOMATO, "integer_workers": True}).get_json()


def test_bad_files_name_the_problem(planning, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    assert "not JSON" in planning("aggregate-plan", str(broken)).output
    negative = tmp_path / "negative.json"
    negative.write_text(json.dumps({**RED_TOMATO, "costs": {**RED_TOMATO["costs"], "backlog": -5}}))
    result = planning("aggregate-plan", str(negative))
    assert result.exit_code != 0 and "costs.backlog" in result.output
    impossible = tmp_path / "impossible.json"
    impossible.write_text(json.dumps({**RED_TOMATO, "limits": {"max_workforce": 10, "max_subcontract": 0}}))
    result = planning("aggregate-plan", str(impossible))
    assert result.exit_code != 0 and "demand cannot be met" in result.output and "Traceback" not in result.output
