"""Deals to demand as named stages (planning_bridge/path): run in order, each importing only
earlier stages; the first reads everything, the later ones never touch the database."""
from __future__ import annotations

import ast
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event

import planning_bridge.path as path_package
from crm.extensions import db
from planning_bridge import pipeline
from planning_bridge.path import STAGES, DemandPath, demand_path, follow
from planning_bridge.path import states as states_stage
from planning_bridge.services import demand_input, import_actuals_csv, import_deals_csv
from tests.conftest import NOW
from tests.planning_bridge.conftest import at
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


# --- stage 1 reads, the later stages only compute ---------------------------------------------

READ_STAGE = "states"
ROOT = STAGE_DIR.parent.parent
# Modules whose names reach the database: the CRM (``crm_port`` is the bridge's door to it),
# the bridge's tables, SQLAlchemy and Flask (its session lives in the app context).
DATABASE_MODULES = ("crm", "sqlalchemy", "flask", "flask_sqlalchemy", "planning_bridge.crm_port",
                    "planning_bridge.models")
_READING: dict[str, frozenset[str]] = {}


def _is_database_module(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in DATABASE_MODULES)


def _project_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    return next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.exists()), None)


def _database_names(module: str) -> frozenset[str]:
    """The names of a project module, imported or defined there, whose code can reach the
    database: a name imported from a database module (``DATABASE_MODULES``), a name another
    project module holds that can, a whole project module holding one, and every top-level
    function, class or constant whose code refers to any of these (to a fixed point)."""
    if module in _READING:
        return _READING[module]
    _READING[module] = frozenset()  # in an import cycle, what is known so far
    source = _project_file(module)
    assert source is not None, module
    tree = ast.parse(source.read_text())
    reading: set[str] = set()
    references: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_database_module(alias.name) or (_project_file(alias.name) and _database_names(alias.name)):
                    reading.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if _is_database_module(node.module) or _is_database_module(full):
                    reading.add(alias.asname or alias.name)
                elif _project_file(full) is not None:  # a module
                    if _database_names(full):
                        reading.add(alias.asname or alias.name)
                elif _project_file(node.module) is not None and alias.name in _database_names(node.module):
                    reading.add(alias.asname or alias.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            references[node.name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} if node.value else set()
            for target in targets:
                for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                    references[name] = used
    changed = True
    while changed:
        changed = False
        for name, used in references.items():
            if name not in reading and used & reading:
                reading.add(name)
                changed = True
    _READING[module] = frozenset(reading)
    return _READING[module]


@pytest.mark.parametrize("stage", [stage for stage in STAGES if stage != READ_STAGE])
def test_no_stage_after_the_first_imports_anything_that_reads_the_database(stage):
    reading = _database_names(f"planning_bridge.path.{stage}")
    assert not reading, f"stage {stage} can reach the database through {sorted(reading)}: read it in stage 1"


def test_the_import_check_tells_reading_names_from_pure_ones():
    """The check above is not vacuous: it finds the reads where they are, and lets the pure
    names of the same modules through."""
    first_stage = _database_names("planning_bridge.path.states")
    assert {"deal_states", "crm_port", "current_choice", "learned_for"} <= first_stage
    for module, reads, pure in (
        ("planning_bridge.source_choice", "current_choice", "source_for"),
        ("planning_bridge.probabilities", "learned_for", "Learned"),
        ("planning_bridge.observations", "observations_as_of", "settled"),
        ("planning_bridge.history", "family_histories", "baseline_values"),
        ("planning_bridge.inputs", "imported_rows", "PipelineRows"),
        ("planning_bridge.settings", "settings_by_family", "COMMIT_PROBABILITY"),
    ):
        assert reads in _database_names(module) and pure not in _database_names(module), module


@pytest.fixture
def planning_history(deal_at, close_at):
    """What makes every stage do its work: sixty closed deals (enough to learn a model; a third
    of them seen past their expected close, mostly lost, so overdue deals are priced down, and
    enough won ones to learn slips), open deals now and a month ago (some overdue), deals
    imported from another CRM, imported actuals for VALVE, and a stored choice that prices PUMP
    by the learned model and VALVE by the blend."""
    start = TODAY - timedelta(days=430)
    for i in range(60):
        created = at(start + timedelta(days=5 * i))
        stage = 0 if i % 2 == 0 else 3
        late = i % 3 == 0
        deal = deal_at(created, stage, created.date() + timedelta(days=20 if late else 40),
                       [("PUMP", 5 + i % 4, 100), ("VALVE", 2, 30)])
        won = (not late or i % 9 == 0) and ((i // 2) % 5 == 0 if stage == 0 else (i // 2) % 5 != 0)
        close_at(deal, created + timedelta(days=45 if late else 40), won=won)
    for n, days_ago in enumerate((70, 50, 20, 10, 3)):
        deal_at(at(TODAY - timedelta(days=days_ago)), n % 4, TODAY + timedelta(days=40 * n - 45),
                [("PUMP", 3 + n, 100), ("VALVE", 1 + n, 20)])
    due = TODAY + timedelta(days=60)
    deals = ("deal_id,family,quantity,amount,stage,created_on,expected_close,closed_on,won,probability\n"
             f"SF-1,PUMP,10,1000,Commit,{TODAY - timedelta(days=60)},{due},,,0.6\n"
             f"SF-2,VALVE,4,80,Proposal,{TODAY - timedelta(days=40)},{due},,,\n")
    assert import_deals_csv(io.BytesIO(deals.encode())).ok
    months = [(TODAY.replace(day=1) - timedelta(days=28 * k)).strftime("%Y-%m") for k in range(1, 8)]
    actuals = "family,period,units,revenue\n" + "".join(f"VALVE,{m},{20 + k},\n" for k, m in enumerate(months))
    assert import_actuals_csv(io.BytesIO(actuals.encode())).accepted == len(months)
    from planning_bridge.figures import DEFAULT_ACCURACY_KEY, _store
    _store("accuracy", DEFAULT_ACCURACY_KEY, TODAY - timedelta(days=40), {"report": {}, "choice": {
        "PUMP": {"family": "PUMP", "source": "calibrated", "reason": "test", "wmape": {}},
        "VALVE": {"family": "VALVE", "source": "blend", "reason": "test", "wmape": {}},
    }}, NOW, 1.0)
    db.session.commit()


class _ClosedSession:
    def __getattr__(self, name):
        raise AssertionError(f"db.session.{name} used after stage 1")


@contextmanager
def database_closed(monkeypatch) -> Iterator[None]:
    """No session, and any statement on the engine fails."""
    def refuse(_conn, _cursor, statement, *_args):
        raise AssertionError(f"a stage after the first ran {statement}")

    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(db, "session", _ClosedSession())
            yield
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse)


def _outputs(path: DemandPath) -> dict:
    """Every later stage's output, comparable."""
    plan = path.timing
    placed = path.placement
    return {
        "settled": None if path.observations.settled is None else path.observations.settled.deal.tolist(),
        "p": plan.p.tolist(), "commit": plan.commit.tolist(), "stage_p": plan.rows.stage_p.tolist(),
        "source": plan.source, "method": plan.method, "version": plan.version, "choice": plan.choice,
        "slips": None if plan.slips is None else plan.slips.summary(),
        "placed": None if placed is None else [getattr(placed.sums, name).tolist() for name in
                                               ("weighted", "revenue", "best", "commit", "deals", "moments")],
        "combine": path.combine,
    }


ASKED = [
    dict(probabilities=probabilities, slip_adjusted=slip, live=live, per_deal=per_deal, through=through)
    for probabilities in ("stage", "calibrated", "chosen")
    for slip in (False, True)
    for live in (True, False)
    for per_deal, through in ((False, "combine"), (True, "timing"))
]


def test_the_stages_after_the_first_give_the_same_output_with_the_database_closed(planning_history, monkeypatch):
    month = TODAY.year * 12 + TODAY.month - 1
    seen = set()
    for asked in ASKED:
        day = TODAY if asked["live"] else TODAY - timedelta(days=30)
        kwargs = dict(day=day, first=month - 2, last=month + 6, learn_slips=pipeline.learn_slips, **asked)
        normal = demand_path(**kwargs)
        read = {k: v for k, v in kwargs.items() if k not in ("day", "live", "learn_slips")}
        dealt = states_stage.deal_states(day, asked["live"], **read)
        with database_closed(monkeypatch):
            followed = follow(dealt, pipeline.learn_slips)
        assert _outputs(followed) == _outputs(normal), asked
        plan = followed.timing
        seen.add((asked["probabilities"], plan.source))
        if plan.slips is not None and plan.slips.learned:
            seen.add("slips")
        if "overdue deals" in plan.method:
            seen.add("overdue")
        if followed.combine and any(c.baseline_source == "imported" for c in followed.combine):
            seen.add("actuals")
        if any(rows_deal <= -2 for rows_deal in plan.rows.deal.tolist()):
            seen.add("imported deals")
        if plan.choice and {c.source for c in plan.choice.values()} == {"calibrated", "blend"}:
            seen.add("mixed choice")
    # Every stage did real work somewhere, so "the same output" is not "nothing both times".
    assert {("calibrated", "calibrated"), ("chosen", "chosen"), ("stage", "stage"), "slips", "overdue",
            "actuals", "imported deals", "mixed choice"} <= seen, seen


def test_with_the_database_closed_the_first_stage_cannot_run(families, monkeypatch):
    with database_closed(monkeypatch), pytest.raises(AssertionError, match="after stage 1|after the first"):
        states_stage.deal_states(TODAY, True, probabilities="stage", slip_adjusted=False)
    assert np.array_equal(states_stage.deal_states(TODAY, True, probabilities="stage", slip_adjusted=False).rows.deal,
                          np.zeros(0, np.int64))
