"""The cycle's pages: planners run the cycle through forms (CSRF, errors shown), finance reads
every page without the forms, sales users get 403."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest

from crm.extensions import db
from planning_bridge.sop import services
from planning_bridge.sop.models import Capacity, CycleFamily, DemandOverride
from tests.conftest import csrf_from
from tests.planning_bridge.sop.conftest import CYCLE_MONTH, FIRST, SECOND

PAGES = ("", "/demand", "/supply", "/pre-meeting", "/executive")


@pytest.fixture
def planner_client(client, login, pat):
    login(client, pat)
    return client


def _post(client, path, data):
    token = csrf_from(client.get(f"/planning/cycles/{CYCLE_MONTH}").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=True)


def test_every_page_renders_for_the_planner(planner_client, cycle):
    for page in PAGES:
        response = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}{page}")
        assert response.status_code == 200, page
    assert CYCLE_MONTH in planner_client.get("/planning/cycles").get_data(as_text=True)


def test_the_cycles_page_has_an_empty_state(planner_client, families):
    assert "No cycle yet" in planner_client.get("/planning/cycles").get_data(as_text=True)


def test_finance_reads_without_forms_and_sales_get_403(client, login, make_user, cycle, alice):
    finance = make_user("finance", name="Fiona Finance")
    login(client, finance)
    html = client.get(f"/planning/cycles/{CYCLE_MONTH}/supply").get_data(as_text=True)
    assert "Finance: the plan in money" in html and "Save PUMP capacity" not in html
    assert client.get("/").headers["Location"].endswith("/planning/cycles")
    other = client.application.test_client()
    login(other, alice)
    for page in PAGES:
        assert other.get(f"/planning/cycles/{CYCLE_MONTH}{page}").status_code == 403


def test_a_planner_runs_the_cycle_through_the_forms(planner_client, cycle, pat):
    base = f"/planning/cycles/{CYCLE_MONTH}"
    html = _post(planner_client, f"{base}/overrides",
                 {"family": "PUMP", "period": SECOND, "units": "12", "reason": ""}).get_data(as_text=True)
    assert "say why" in html and db.session.query(DemandOverride).count() == 0
    html = _post(planner_client, f"{base}/overrides",
                 {"family": "PUMP", "period": SECOND, "units": "12", "reason": "launch"}).get_data(as_text=True)
    assert "launch" in html and db.session.query(DemandOverride).count() == 1
    _post(planner_client, f"{base}/capacity/PUMP", {f"capacity-{FIRST}": "7", f"capacity-{SECOND}": ""})
    assert [(c.period, c.units) for c in db.session.query(Capacity)] == [(FIRST, Decimal(7))]
    html = _post(planner_client, f"{base}/capacity/PUMP", {f"capacity-{FIRST}": "-1"}).get_data(as_text=True)
    assert "0 or more" in html
    _post(planner_client, f"{base}/families/VALVE", {"strategy": "make_to_stock", "target_inventory": "5",
                                                     "opening_inventory": "2", "unit_price": ""})
    assert db.session.query(CycleFamily).filter_by(family="VALVE").one().strategy == "make_to_stock"
    _post(planner_client, f"{base}/reviews/PUMP", {"status": "escalated", "note": "add a shift?"})
    html = planner_client.get(f"{base}/executive").get_data(as_text=True)
    assert "add a shift?" in html
    html = _post(planner_client, f"{base}/publish", {}).get_data(as_text=True)
    assert "Version 1 of the" in html and services.plan_in_force() is not None


def test_a_bad_business_plan_lists_its_lines(planner_client, cycle):
    bad = b"family,period,revenue\nPUMP,x,1\nNOPE,2026-01,1\n"
    html = _post(planner_client, f"/planning/cycles/{CYCLE_MONTH}/business-plan",
                 {"file": (io.BytesIO(bad), "bp.csv")}).get_data(as_text=True)
    assert "line 2:" in html and "line 3: unknown family" in html


def test_the_executive_summary_prints(planner_client, cycle):
    html = planner_client.get(f"/planning/cycles/{CYCLE_MONTH}/executive").get_data(as_text=True)
    assert "sop.css" in html and "data-print" in html and "<script>" not in html and "onclick" not in html
