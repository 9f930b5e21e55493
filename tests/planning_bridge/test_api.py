"""The planning API: planners and admins only, exactly the published columns in JSON and CSV,
imports, snapshots, calibration, accuracy and settings."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from crm.extensions import db
from planning_bridge.contracts import DEMAND_COLUMNS
from planning_bridge.figures import compute_default_figures
from tests.conftest import NOW

API = "/api/v1/planning"
THIS_MONTH = NOW.strftime("%Y-%m")


@pytest.fixture
def pipeline(deal_at, alice):
    deal_at(NOW, 2, date(2030, 12, 10), [("PUMP", 10, 100)], owner=alice)


@pytest.fixture
def as_planner(client, api_token, pat):
    headers = api_token(pat)
    return lambda method, path, **kw: client.open(API + path, method=method,
                                                  headers={**headers, **kw.pop("headers", {})}, **kw)


def test_only_planners_and_admins_get_the_demand_input(client, api_token, pat, admin, alice, mallory, families):
    for user, status in ((pat, 200), (admin, 200), (alice, 403), (mallory, 403)):
        assert client.get(f"{API}/demand-input", headers=api_token(user)).status_code == status, user.role
    assert client.get(f"{API}/demand-input").status_code == 401


def test_json_rows_have_exactly_the_published_columns(as_planner, pipeline):
    body = as_planner("GET", "/demand-input?from=2031-01&to=2031-02&probabilities=stage").get_json()
    assert body["columns"] == list(DEMAND_COLUMNS)
    assert all(set(row) == set(DEMAND_COLUMNS) for row in body["rows"])  # JSON objects: keys sorted
    july = next(r for r in body["rows"] if (r["family"], r["period"]) == ("PUMP", "2031-01"))
    assert (july["weighted_units"], july["weighted_revenue"], july["snapshot_id"]) == (5, "500.00", None)
    assert body["probability_source"] == "stage" and body["probabilities"] == "stage"


def test_csv_has_exactly_the_published_columns_and_an_empty_snapshot_id(as_planner, pipeline):
    response = as_planner("GET", "/demand-input?from=2031-01&to=2031-01&probabilities=calibrated&format=csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert response.headers["X-Probability-Source"] == "stage"  # too little history: the fallback
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(DEMAND_COLUMNS)
    assert rows[1] == ["PUMP", "2031-01", "0", "5", "500.00", "10", "0", "0", "10", "1", "5", "", "EUR"]


def test_the_default_range_is_eighteen_months_from_this_month(as_planner, families):
    rows = as_planner("GET", "/demand-input?family=VALVE").get_json()["rows"]
    assert len(rows) == 18 and rows[0]["period"] == THIS_MONTH


@pytest.mark.parametrize("query, field", [
    ("from=2030-13&to=2030-12", "from"), ("from=2030-06&to=2030-01", "to"),
    ("probabilities=reps", "probabilities"), ("format=pdf", "format"), ("colour=red", "colour"),
    ("from=2031-04", "from"), ("to=2031-04", "to"), ("location=", "location"),
    ("family=NOPE", "family"),
])
def test_bad_queries_are_422_naming_the_field(as_planner, families, query, field):
    response = as_planner("GET", f"/demand-input?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_the_drill_down_lists_deals_without_contact_details(as_planner, pipeline):
    body = as_planner("GET", "/demand-input/contributions?family=PUMP&period=2031-01&probabilities=stage").get_json()
    [item] = body["items"]
    assert (item["stage"], item["probability"], item["quantity"], item["weighted_units"]) == ("Proposal", 0.5, 10, 5)
    assert item["owner"] == "Alice Rep" and item["amount"] == "1000.00"
    assert not any("email" in key or "phone" in key for key in item)


def test_imports_take_multipart_or_a_csv_body(as_planner, families, stages):
    good = b"family,period,units,revenue\nPUMP,2025-11,40,98000\n"
    response = as_planner("POST", "/imports/actuals", data={"file": (io.BytesIO(good), "a.csv")},
                          content_type="multipart/form-data")
    assert response.status_code == 200 and response.get_json()["accepted"] == 1
    deals = (b"deal_id,family,quantity,amount,stage,created_on,expected_close,closed_on,won\n"
             b"X1,PUMP,3,300,Proposal,2026-01-01,2031-01-01,,\n")
    response = as_planner("POST", "/imports/deals", data=deals, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200 and response.get_json()["kind"] == "deals"
    actuals = as_planner("GET", "/actuals?from=2025-01&to=2025-12").get_json()["families"]
    assert actuals["PUMP"] == {"2025-11": 40}


def test_a_bad_import_is_422_naming_each_line(as_planner, families):
    bad = b"family,period,units,revenue\nPUMP,2025-11,-1,\nNOPE,2025-12,1,\n"
    response = as_planner("POST", "/imports/actuals", data=bad, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"line 2", "line 3"}
    missing = as_planner("POST", "/imports/actuals", json={"rows": []})
    assert missing.status_code == 422


def test_snapshots_are_taken_listed_and_read(as_planner, pipeline):
    created = as_planner("POST", "/snapshots", json={"from": "2031-01", "to": "2031-02", "probabilities": "stage"})
    assert created.status_code == 201
    snapshot = created.get_json()
    assert (snapshot["taken_by"], snapshot["row_count"], snapshot["scheduled"]) == ("Pat Planner", 4, False)
    listed = as_planner("GET", "/snapshots").get_json()["items"]
    assert [s["id"] for s in listed] == [snapshot["id"]]
    body = as_planner("GET", f"/snapshots/{snapshot['id']}").get_json()
    assert {r["snapshot_id"] for r in body["rows"]} == {snapshot["id"]}
    text = as_planner("GET", f"/snapshots/{snapshot['id']}?format=csv").get_data(as_text=True)
    assert text.splitlines()[1].endswith(f",{snapshot['id']},EUR")
    assert as_planner("GET", "/snapshots/999999").status_code == 404
    assert as_planner("POST", "/snapshots", json={"probabilities": "magic"}).status_code == 422


def test_calibration_and_accuracy_answer_even_without_history(as_planner, families):
    """Nothing stored yet: empty figures and a note saying how to get them; once the worker
    computed them, the stored figures (with nothing to score, they say why)."""
    nothing = as_planner("GET", "/calibration").get_json()
    assert nothing["reports"] == [] and nothing["computed_at"] is None and nothing["notes"]
    accuracy = as_planner("GET", "/accuracy?lags=1,2").get_json()
    assert accuracy["lags"] == [1, 2] and accuracy["notes"] and accuracy["computed_at"] is None
    assert as_planner("GET", "/accuracy?lags=0").status_code == 422
    compute_default_figures(NOW)
    db.session.commit()
    calibration = as_planner("GET", "/calibration").get_json()
    assert [r["source"] for r in calibration["reports"]] == ["stage", "calibrated", "blend"]
    assert all(r["holdout_count"] == 0 for r in calibration["reports"]) and calibration["computed_at"]
    accuracy = as_planner("GET", "/accuracy").get_json()
    assert accuracy["computed_at"]
    assert accuracy["notes"] == ["no past month with actuals yet: import actuals or win some deals"]
    assert {c["family"]: c["source"] for c in accuracy["choice"]} == {"PUMP": "stage", "VALVE": "stage"}


def test_family_settings_and_outliers(as_planner, families, stages):
    items = as_planner("GET", "/families").get_json()["items"]
    assert [i["family"] for i in items] == ["PUMP", "VALVE"]
    saved = as_planner("PUT", "/families/PUMP", json={"combine_rule": "pipeline", "commit_stage": "Proposal"})
    assert saved.status_code == 200 and saved.get_json()["combine_rule"] == "pipeline"
    assert as_planner("PUT", "/families/NOPE", json={"combine_rule": "pipeline"}).status_code == 404
    assert as_planner("PUT", "/families/PUMP", json={"combine_rule": "guess"}).status_code == 422
    assert as_planner("GET", "/families/PUMP/outliers").get_json()["items"] == []
    response = as_planner("POST", "/families/PUMP/outliers", json={"period": "2025-01", "accepted": True})
    assert response.status_code == 422  # no actuals that month


def test_the_pipeline_can_be_rebuilt_as_of_a_past_day(as_planner, pipeline):
    body = as_planner("GET", "/demand-input?from=2031-01&to=2031-01&probabilities=stage&as_of=2026-03-09").get_json()
    assert body["as_of"] == "2026-03-09" and all(r["weighted_units"] == 0 for r in body["rows"])  # not created yet
    body = as_planner("GET", "/demand-input?from=2031-01&to=2031-01&probabilities=stage&slip_adjusted=true").get_json()
    assert body["slip_adjusted"] is True
