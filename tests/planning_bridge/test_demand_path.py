"""Deals to demand as named stages (planning_bridge/path): run in order, each importing only
earlier stages."""
from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

import planning_bridge.path as path_package
from planning_bridge.path import STAGES, demand_path
from planning_bridge.services import demand_input
from tests.conftest import NOW
from tests.planning_bridge.pages_helpers import FUTURE

TODAY = date(2026, 3, 10)
STAGE_DIR = Path(path_package.__file__).parent


def _imported_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("position", range(len(STAGES)))
def test_a_stage_imports_none_of_the_later_ones(position):
    stage = STAGES[position]
    imported = _imported_modules((STAGE_DIR / f"{stage}.py").read_text())
    later = {f"planning_bridge.path.{name}" for name in STAGES[position + 1:]}
    assert not imported & later, f"{stage} imports a later stage: {sorted(imported & later)}"
    assert "planning_bridge.path" not in imported  # nor the package that runs them all


def test_every_stage_has_its_module():
    assert sorted(p.stem for p in STAGE_DIR.glob("*.py") if p.stem != "__init__") == sorted(STAGES)


def test_the_stages_run_in_order_each_on_the_previous_output(deal_at, monkeypatch):
    deal_at(NOW, 2, date(2026, 6, 10), [("PUMP", 10, 100)])
    calls: list[tuple[str, object]] = []
    outputs: dict[str, object] = {}

    def spy(module, function, stage):
        original = getattr(module, function)

        def run(*args, **kwargs):
            calls.append((stage, args[0] if args else None))
            outputs[stage] = result = original(*args, **kwargs)
            return result
        monkeypatch.setattr(module, function, run)

    from planning_bridge.path import combine, observations, placement, probabilities, states, timing
    for module, function, stage in ((states, "deal_states", "states"), (observations, "observe", "observations"),
                                    (probabilities, "price", "probabilities"), (timing, "time", "timing"),
                                    (placement, "place", "placement"), (combine, "combine_with_baseline", "combine")):
        spy(module, function, stage)
    rows = demand_input(start="2026-06", end="2026-09", probabilities="stage", today=TODAY)
    assert [stage for stage, _arg in calls] == list(STAGES)
    for (stage, argument), previous in zip(calls[1:], STAGES):
        assert argument is outputs[previous], f"{stage} is not run on the output of {previous}"
    assert sum(r.weighted_units for r in rows) == 5


def test_demand_path_returns_every_stage_output(deal_at):
    deal_at(NOW, 2, date(2026, 6, 10), [("PUMP", 10, 100)])
    path = demand_path(day=TODAY, live=True, probabilities="stage", slip_adjusted=False,
                       lead_times={"PUMP": 0}, first=2026 * 12 + 5, last=2026 * 12 + 8, wanted=["PUMP"])
    assert path.states.day == TODAY and path.observations.states is path.states
    assert path.probabilities.observed is path.observations and path.timing.slips is None
    assert path.placement is not None and path.combine is not None
    assert sum(cell.row.weighted_units for cell in path.combine) == 5
    partial = demand_path(day=TODAY, live=True, probabilities="stage", slip_adjusted=False, through="timing")
    assert partial.placement is None and partial.combine is None



def test_the_drill_down_lists_the_stages_in_order(client, login, pat, make_deal, stages):
    make_deal(name="Pumps", stage_id=stages[2].id, expected_close=FUTURE,
              lines=[{"family": "PUMP", "quantity": 10, "unit_price": "100.00"}])
    login(client, pat)
    html = client.get("/planning/demand/PUMP/2030-02", query_string={"probabilities": "stage"}).get_data(as_text=True)
    positions = [html.index(f'data-stage="{stage}"') for stage in STAGES]
    assert positions == sorted(positions)
    placement = html[positions[STAGES.index("placement")]:positions[STAGES.index("combine")]]
    assert "1 deals in 2030-02, weighted 5, best case 10" in placement
