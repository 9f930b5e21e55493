"""Snapshot pages: take one (POST with CSRF), list them, view one and download its CSV."""
from __future__ import annotations

import csv
import io

import pytest

from planning_bridge.contracts import DEMAND_COLUMNS
from planning_bridge.crm_port import db
from planning_bridge.models import Snapshot
from tests.conftest import csrf_from
from tests.planning_bridge.pages_helpers import FUTURE


@pytest.fixture
def open_deal(make_deal, stages):
    return make_deal(name="Pumps for Initech", stage_id=stages[2].id, expected_close=FUTURE,
                     lines=[{"family": "PUMP", "quantity": 10, "unit_price": "100.00"}])


def _take(client, **form):
    token = csrf_from(client.get("/planning/snapshots").get_data(as_text=True))
    return client.post("/planning/snapshots", data={"csrf_token": token, **form})


def test_planner_takes_views_and_downloads_a_snapshot(client, login, pat, open_deal):
    login(client, pat)
    response = _take(client, **{"from": "2030-01", "to": "2030-03", "probabilities": "stage"})
    assert response.status_code == 302
    snapshot = db.session.query(Snapshot).one()
    assert response.headers["Location"].endswith(f"/planning/snapshots/{snapshot.id}")
    assert (snapshot.start_period, snapshot.end_period, snapshot.probabilities) == ("2030-01", "2030-03", "stage")
    assert snapshot.taken_by_id == pat.id

    listing = client.get("/planning/snapshots").get_data(as_text=True)
    assert f"/planning/snapshots/{snapshot.id}" in listing and "Pat Planner" in listing

    page = client.get(f"/planning/snapshots/{snapshot.id}").get_data(as_text=True)
    assert "2030-01 to 2030-03" in page
    assert 'id="demand-grid"' in page

    download = client.get(f"/planning/snapshots/{snapshot.id}.csv")
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert tuple(rows[0]) == DEMAND_COLUMNS
    feb = next(dict(zip(DEMAND_COLUMNS, r)) for r in rows[1:] if r[:2] == ["PUMP", "2030-02"])
    assert float(feb["weighted_units"]) == 5
    assert feb["snapshot_id"] == str(snapshot.id)


def test_snapshot_needs_the_csrf_token(client, login, pat, families):
    login(client, pat)
    response = client.post("/planning/snapshots", data={"from": "2030-01", "to": "2030-03", "probabilities": "stage"})
    assert response.status_code == 400
    assert db.session.query(Snapshot).count() == 0


def test_bad_snapshot_months_are_refused_with_a_message(client, login, pat, families):
    login(client, pat)
    response = _take(client, **{"from": "January", "to": "2030-03", "probabilities": "stage"})
    assert response.status_code == 302
    assert db.session.query(Snapshot).count() == 0
    assert "is not a month written as YYYY-MM" in client.get("/planning/snapshots").get_data(as_text=True)


def test_missing_snapshot_is_not_found(client, login, pat):
    login(client, pat)
    assert client.get("/planning/snapshots/4242").status_code == 404
    assert client.get("/planning/snapshots/4242.csv").status_code == 404


def test_empty_list_invites_a_first_snapshot(client, login, pat):
    login(client, pat)
    assert "No snapshots yet" in client.get("/planning/snapshots").get_data(as_text=True)
