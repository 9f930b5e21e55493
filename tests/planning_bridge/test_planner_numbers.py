"""Issue #23: numbers a planner can trust. The source chosen per family by backtest evidence,
probabilities monotone in stage, the whole horizon without ERP actuals, bounded parameters,
pages reading stored figures, frePPLe and xlsx exports, imports reporting every error, and
outlier decisions that belong to the value they were made on."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from crm.extensions import db
from planning_bridge import services
from planning_bridge.accuracy import add_blend, added_value, score
from planning_bridge.contracts import AccuracyReport, CalibrationReport
from planning_bridge.exports import XLSX_MEASURES
from planning_bridge.observations import Features
from planning_bridge.probabilities import StageRates, monotone_in_stage
from planning_bridge.source_choice import MIN_MONTHS, choose_sources
from tests.conftest import NOW, csrf_from
from tests.planning_bridge.conftest import at

API = "/api/v1/planning"
STAGES = {"Prospecting": 0.1, "Qualified": 0.25, "Proposal": 0.5, "Negotiation": 0.75}


@pytest.fixture
def as_planner(client, api_token, pat):
    headers = api_token(pat)
    return lambda method, path, **kw: client.open(API + path, method=method,
                                                  headers={**headers, **kw.pop("headers", {})}, **kw)


# --- the source chosen per family ------------------------------------------------------------

def _backtest(months: int) -> tuple[AccuracyReport, dict]:
    """Twelve past months of two families, each with 100 units of actual demand a month. PUMP's
    stage defaults are right (the stage forecast hits 100) and its calibrated probabilities run
    40 % high; VALVE's stage defaults run 50 % low and calibrated is within 5 %."""
    forecasts, actuals = {}, {"PUMP": {}, "VALVE": {}}
    for month in range(24300, 24300 + months):
        for family, stage, calibrated in (("PUMP", 100.0, 140.0), ("VALVE", 50.0, 95.0)):
            actuals[family][month] = 100.0
            for lag in (1, 2, 3):
                key = (family, month, lag)
                forecasts[key + ("baseline",)] = 80.0
                forecasts[key + ("stage",)] = stage
                forecasts[key + ("calibrated",)] = calibrated
    add_blend(forecasts)
    cells = score("rebuilt", forecasts, actuals, list(range(24300, 24300 + months)), (1, 2, 3), ["PUMP", "VALVE"])
    return AccuracyReport((1, 2, 3), tuple(cells), tuple(added_value("rebuilt", cells)), (), 0), actuals


def _calibration(stage_ece: float, calibrated_ece: float, blend_ece: float) -> list[CalibrationReport]:
    return [CalibrationReport(source, 0.2, date(2026, 1, 1), 500, (), "", 0, 200, None, ece)
            for source, ece in (("stage", stage_ece), ("calibrated", calibrated_ece), ("blend", blend_ece))]


def test_the_chosen_source_differs_per_family_and_says_why():
    report, _actuals = _backtest(12)
    choice = choose_sources(report, _calibration(0.10, 0.05, 0.06), ["PUMP", "VALVE"])
    assert choice["PUMP"].source == "stage" and choice["VALVE"].source == "calibrated"
    assert "lowest WMAPE at lags 1-2-3 over 12 months" in choice["VALVE"].reason
    assert "calibrated 5.0 %" in choice["VALVE"].reason and "stage 50.0 %" in choice["VALVE"].reason
    assert choice["PUMP"].wmape["calibrated"] == pytest.approx(0.4)


def test_a_less_honest_source_cannot_win_on_wmape_alone():
    report, _actuals = _backtest(12)
    choice = choose_sources(report, _calibration(0.05, 0.20, 0.04), ["VALVE"])
    assert choice["VALVE"].source == "blend"  # calibrated is refused, the blend is next best
    assert "calibrated is less honest on the holdout (calibration error 20.0 % against 5.0 %)" in choice["VALVE"].reason


def test_too_little_history_keeps_the_stage_defaults():
    report, _actuals = _backtest(MIN_MONTHS - 1)
    choice = choose_sources(report, _calibration(0.10, 0.05, 0.06), ["VALVE"])
    assert choice["VALVE"].source == "stage" and "too little history" in choice["VALVE"].reason
    assert choose_sources(None, None, ["VALVE"])["VALVE"].source == "stage"


def test_the_demand_input_uses_the_stored_choice_per_family(deal_at, families, stages):
    """``chosen`` reads the choice stored with the figures: VALVE's rows take the calibrated
    probabilities (here: calibrated falls back to stage, too few closed deals), PUMP's the stage
    defaults, and the rows say so; a snapshot records the choice and its reason."""
    from planning_bridge.figures import DEFAULT_ACCURACY_KEY, _store

    deal_at(NOW, 2, date(2026, 5, 10), [("PUMP", 10, 100), ("VALVE", 4, 100)])
    report, _ = _backtest(12)
    choice = choose_sources(report, _calibration(0.10, 0.05, 0.06), ["PUMP", "VALVE"])
    _store("accuracy", DEFAULT_ACCURACY_KEY, NOW.date(), {"report": {}, "choice": {
        family: {"family": c.family, "source": c.source, "reason": c.reason, "wmape": c.wmape}
        for family, c in choice.items()}}, NOW, 1.0)
    db.session.commit()
    rows = services.demand_input(start="2026-06", end="2026-06")
    assert rows.probability_source == "chosen"
    assert {f: c.source for f, c in rows.source_choice.items()} == {"PUMP": "stage", "VALVE": "calibrated"}
    assert "PUMP stage, VALVE calibrated" in rows.probability_method
    snapshot = services.take_snapshot(actor_id=None, now=NOW, start="2026-06", end="2026-06", probabilities="chosen")
    from planning_bridge.models import Snapshot
    parameters = db.session.get(Snapshot, snapshot).parameters
    assert parameters["source_choice"]["VALVE"]["source"] == "calibrated"
    # Stored above in the shape figures had before the reason was data: kept as its text.
    assert parameters["source_choice"]["VALVE"]["why"]["kind"] == "text"
    assert "lowest WMAPE" in parameters["source_choice"]["VALVE"]["why"]["text"]


# --- monotone in stage -------------------------------------------------------------------------

class _Wiggly:
    """A predictor that ranks stages badly and mixes in the other features."""

    def __init__(self, rates):
        self.rates = rates

    def predict(self, features, _defaults=None):
        base = np.array([self.rates[s] for s in features.stage])
        return np.clip(base + 0.3 * np.sin(features.age_days) * np.cos(features.days_in_stage), 0, 1)


@settings(max_examples=60, deadline=None)
@given(rates=st.lists(st.floats(0, 1), min_size=4, max_size=4),
       ages=st.lists(st.floats(0, 400), min_size=1, max_size=20), data=st.data())
def test_a_later_stage_never_gets_a_lower_probability(rates, ages, data):
    n = len(ages)
    days = np.array(data.draw(st.lists(st.floats(0, 200), min_size=n, max_size=n)))
    predictor = _Wiggly(dict(zip(STAGES, rates)))
    by_stage = []
    for stage in STAGES:  # the same deals, otherwise equal, at each stage in pipeline order
        features = Features(np.array([stage] * n, dtype=object), np.array(["PUMP"] * n, dtype=object),
                            days, np.array(ages), np.full(n, 1000.0), np.full(n, np.nan))
        by_stage.append(monotone_in_stage(predictor, features, STAGES))
    grid = np.column_stack(by_stage)
    assert np.all(np.diff(grid, axis=1) >= -1e-12)
    assert np.all((grid >= 0) & (grid <= 1))


def test_monotone_rates_keep_an_already_ordered_model_unchanged():
    rates = StageRates({"Prospecting": 0.1, "Qualified": 0.2, "Proposal": 0.6, "Negotiation": 0.9}, {})
    features = Features(np.array(list(STAGES), dtype=object), np.array(["PUMP"] * 4, dtype=object),
                        *(np.zeros(4) for _ in range(4)))
    assert monotone_in_stage(rates, features, STAGES).tolist() == pytest.approx([0.1, 0.2, 0.6, 0.9])
    reversed_rates = StageRates({"Prospecting": 0.6, "Qualified": 0.4, "Proposal": 0.2, "Negotiation": 0.8}, {})
    assert monotone_in_stage(reversed_rates, features, STAGES).tolist() == pytest.approx([0.4, 0.4, 0.4, 0.8])


# --- the whole horizon -------------------------------------------------------------------------

def test_without_actuals_the_won_deal_history_fills_the_horizon(deal_at, close_at, families, stages):
    """A year of won PUMP deals, one a month, and one open deal: the pipeline reaches two
    months, but no month of the 18 shows 0; the baseline says where it comes from, and near
    months are not counted twice (demand = max(won baseline - booked, weighted))."""
    for i in range(14):
        created = at(date(2025, 1, 6) + timedelta(days=30 * i))
        deal = deal_at(created, 3, created.date() + timedelta(days=10), [("PUMP", 10, 100)])
        close_at(deal, created + timedelta(days=10), won=True)
    deal_at(NOW, 3, date(2026, 4, 10), [("PUMP", 40, 100)])
    rows = services.demand_input(start="2026-04", end="2027-09", probabilities="stage", families=["PUMP"])
    assert len(rows) == 18 and all(r.demand_input_units > 0 for r in rows)
    assert rows.baseline_sources == {"PUMP": "won_deals"}
    assert "won-deal history" in rows.baseline_note
    may = next(r for r in rows if r.period == "2026-05")  # the open deal's month (+30 days' lead)
    assert may.weighted_units == pytest.approx(30) and may.baseline_units == 0 and may.demand_input_units == 30
    assert all(r.demand_input_units == pytest.approx(r.baseline_units + r.weighted_units) for r in rows)


# --- bounded parameters ------------------------------------------------------------------------

@pytest.mark.parametrize("path, field", [
    ("/calibration?as_of=9999-12-31", "as_of"),
    ("/demand-input?as_of=9999-12-31", "as_of"),
    ("/demand-input?as_of=1900-01-01", "as_of"),
    ("/demand-input?from=2031-04", "from"),          # five years ahead is 2031-03
    ("/demand-input?from=1999-01&to=1999-06", "from"),
    ("/demand-input/contributions?family=PUMP&period=9999-12", "period"),
    ("/accuracy?months=0", "months"),
    ("/accuracy?months=37", "months"),
])
def test_out_of_range_parameters_are_422_with_the_allowed_range(as_planner, families, path, field):
    response = as_planner("GET", path)
    assert response.status_code == 422
    message = response.get_json()["error"]["fields"][field]
    assert any(words in message for words in ("from", "between", "or less", "or more")), message


def test_the_last_day_of_the_calendar_ends_without_overflow():
    from crm.public_history import end_of_day
    assert end_of_day(date.max).year == 9999


def test_the_cli_bounds_as_of_too(app, families):
    from planning_bridge.cli import planning_cli
    result = app.test_cli_runner().invoke(planning_cli, ["export", "--as-of", "9999-12-31"])
    assert result.exit_code == 2 and "where history begins" in result.output


# --- stored figures: the pages read them -------------------------------------------------------

def test_the_accuracy_page_reads_stored_figures(client, login, pat, families, monkeypatch):
    """Once stored, the accuracy page and API neither rebuild the pipeline nor score anything:
    a handful of queries, whatever the history."""
    services.compute_default_figures(NOW)
    db.session.commit()
    login(client, pat)
    client.get("/planning/accuracy")  # warm the login and templates

    def no_backtest(*_args, **_kwargs):
        raise AssertionError("a request ran the backtest")

    for module in ("planning_bridge.accuracy", "planning_bridge.figures"):
        monkeypatch.setattr(f"{module}.accuracy_report", no_backtest)
    monkeypatch.setattr("planning_bridge.figures.calibration_reports", no_backtest)
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = client.get("/planning/accuracy")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert page.status_code == 200 and "Computed" in page.get_data(as_text=True)
    figures = [s for s in statements if "planning_stored_figures" in s]
    assert 1 <= len(figures) <= 3 and len(statements) <= 15, statements


def test_the_api_reads_stored_figures_and_queues_the_worker(as_planner, families):
    queued = as_planner("POST", "/figures", json={"lags": [1, 2], "months": 6})
    assert queued.status_code == 202 and queued.get_json()["status"] == "queued"
    again = as_planner("POST", "/figures", json={})
    assert again.get_json()["job_id"] == queued.get_json()["job_id"]  # one at a time
    assert as_planner("POST", "/figures", json={"lags": [0]}).status_code == 422
    from crm.jobs.runner import run_queued_jobs
    run_queued_jobs(NOW)
    body = as_planner("GET", "/accuracy?lags=1,2&months=6").get_json()
    assert body["computed_at"] and body["as_of"] == NOW.date().isoformat() and body["seconds"] >= 0
    assert as_planner("GET", "/calibration").get_json()["observation_unit"].startswith("a closed deal seen")


# --- exports -----------------------------------------------------------------------------------

@pytest.fixture
def open_deal(deal_at):
    deal_at(NOW, 2, date(2026, 5, 10), [("PUMP", 10, 100)])


def test_the_frepple_export_has_its_columns_and_monthly_buckets(as_planner, open_deal):
    response = as_planner("GET", "/demand-input?from=2026-06&to=2026-07&probabilities=stage&format=frepple"
                                 "&location=Ghent&customer=Retail")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="forecastplan-2026-06-2026-07.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["item", "location", "customer", "startdate", "enddate", "forecastoverride"]
    june = next(r for r in rows if r["item"] == "PUMP" and r["startdate"] == "2026-06-01")
    assert june == {"item": "PUMP", "location": "Ghent", "customer": "Retail", "startdate": "2026-06-01",
                    "enddate": "2026-06-30", "forecastoverride": "5"}
    assert {r["startdate"] for r in rows} == {"2026-06-01", "2026-07-01"}


def test_the_xlsx_export_has_a_family_by_month_sheet_per_measure(as_planner, open_deal):
    from openpyxl import load_workbook

    response = as_planner("GET", "/demand-input?from=2026-06&to=2026-08&probabilities=stage&format=xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [title for _m, title in XLSX_MEASURES] + ["About"]
    sheet = book["Demand input"]
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "family" and [d.strftime("%Y-%m") for d in header[1:]] == ["2026-06", "2026-07", "2026-08"]
    pump = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "PUMP")
    assert pump[1] == 5
    about = dict(book["About"].iter_rows(values_only=True))
    assert about["probabilities used"] == "stage"


def test_the_cli_writes_frepple_and_refuses_xlsx_to_stdout(app, open_deal, tmp_path):
    from planning_bridge.cli import planning_cli
    runner = app.test_cli_runner()
    result = runner.invoke(planning_cli, ["export", "--from", "2026-06", "--to", "2026-06", "--probabilities",
                                          "stage", "--format", "frepple", "--location", "Ghent"])
    assert result.exit_code == 0 and "PUMP,Ghent,All customers,2026-06-01,2026-06-30,5" in result.output
    assert runner.invoke(planning_cli, ["export", "--format", "xlsx"]).exit_code == 2
    out = tmp_path / "grid.xlsx"
    assert runner.invoke(planning_cli, ["export", "--format", "xlsx", "--output", str(out)]).exit_code == 0
    assert out.read_bytes()[:2] == b"PK"


def test_the_demand_page_links_both_downloads(client, login, pat, open_deal):
    login(client, pat)
    html = client.get("/planning/?probabilities=stage").get_data(as_text=True)
    assert "/planning/demand.xlsx" in html and "/planning/forecastplan.csv" in html
    assert client.get("/planning/forecastplan.csv?from=2026-06&to=2026-06&probabilities=stage").status_code == 200


# --- imports -----------------------------------------------------------------------------------

def test_a_row_reports_every_bad_value(families):
    result = services.import_actuals_csv(b"family,period,units,revenue\nNOPE,2025-13,-3,-10\n")
    assert len(result.rejected) == 1
    message = result.rejected[0].message
    assert all(part in message for part in ("period '2025-13'", "unknown family 'NOPE'", "negative units",
                                            "negative revenue"))
    deals = services.import_deals_csv(
        b"deal_id,family,quantity,amount,stage,created_on,expected_close,closed_on,won\n"
        b"X1,PUMP,-1,-5,Proposal,2026-02-30,2026-01-01,,maybe\n")
    message = deals.rejected[0].message
    assert all(part in message for part in ("negative quantity", "negative amount", "impossible date",
                                            "won must be true or false"))


def test_a_semicolon_file_is_read(families):
    result = services.import_actuals_csv(b"family;period;units;revenue\nPUMP;2025-11;40;980\n")
    assert result.ok and result.accepted == 1


def test_an_unreadable_header_names_the_separator(families):
    result = services.import_actuals_csv(b"famille;periode;unites\nPUMP;2025-11;40\n")
    assert "this file seems to use ';' as separator" in result.rejected[0].message


# --- outlier decisions belong to a value -------------------------------------------------------

def test_a_changed_actual_puts_its_decision_up_for_review(client, login, pat, families):
    rows = "".join(f"PUMP,2025-{m:02d},{20 if m != 6 else 23},\n" for m in range(1, 13))
    services.import_actuals_csv(("family,period,units,revenue\n" + rows).encode())
    db.session.commit()
    services.set_outlier_override(pat, "PUMP", "2025-06", True, 22.8, NOW)
    db.session.commit()
    decided = next(f for f in services.list_outliers("PUMP") if f.period == "2025-06")
    assert decided.effective_units == 22.8 and not decided.needs_review and decided.decided_on_units == 23
    services.import_actuals_csv(b"family,period,units,revenue\nPUMP,2025-06,31,\n")
    db.session.commit()
    services.clear_caches()
    flag = next(f for f in services.list_outliers("PUMP") if f.period == "2025-06")
    assert flag.needs_review and flag.original_units == 31 and flag.effective_units == 31
    login(client, pat)
    page = client.get("/planning/settings/PUMP/outliers").get_data(as_text=True)
    assert "1 to review" in page and "Made on 23" in page
    token = csrf_from(page)
    assert token


def test_the_cli_stores_the_figures_and_prints_the_choice(app, families):
    from planning_bridge.cli import planning_cli
    result = app.test_cli_runner().invoke(planning_cli, ["figures"])
    assert result.exit_code == 0 and "stored 2 sets of figures" in result.output
    assert "PUMP     stage" in result.output and services.stored_accuracy() is not None
