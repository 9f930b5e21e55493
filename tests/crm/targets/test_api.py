"""GET /api/v1/targets: rows per family and month, who may read whose, 422 with the field."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.crm.api.conftest import ApiClient
from tests.crm.targets.conftest import MONTH_AFTER, NEXT_MONTH, THIS_MONTH, ym


@pytest.fixture
def api(client, api_token):
    return lambda user: ApiClient(client, api_token(user))


def test_a_rep_reads_their_rows(api, feedback, alice, bob, deal_for, win):
    feedback.publish("PUMP", THIS_MONTH, 100, revenue="1000.00")
    feedback.publish("PUMP", NEXT_MONTH, 40, revenue="400.00")
    deal_for(alice, 30)
    deal_for(bob, 10)
    deal_for(alice, 8, close=NEXT_MONTH + timedelta(days=1), stage=3)
    response = api(alice).get(f"/targets?from={ym(THIS_MONTH)}&to={ym(MONTH_AFTER)}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["user_id"] == alice.id
    rows = {(r["family"], r["period"]): r for r in body["items"]}
    assert set(rows) == {("PUMP", ym(THIS_MONTH)), ("PUMP", ym(NEXT_MONTH))}
    first = rows[("PUMP", ym(THIS_MONTH))]
    assert {k: first[k] for k in ("target_units", "target_revenue", "won_units", "weighted_units", "gap_units")} == {
        "target_units": "75", "target_revenue": "750.00", "won_units": "0", "weighted_units": "15.00",
        "gap_units": "75"}
    assert rows[("PUMP", ym(NEXT_MONTH))]["target_units"] == "40"  # alone in next month's pipeline


def test_defaults_to_this_month_and_the_next_two(api, feedback, alice, deal_for):
    for month in (THIS_MONTH, NEXT_MONTH, MONTH_AFTER, MONTH_AFTER + timedelta(days=40)):
        feedback.publish("PUMP", month.replace(day=1), 10)
    deal_for(alice, 5)
    periods = [r["period"] for r in api(alice).get("/targets").get_json()["items"]]
    assert periods == [ym(THIS_MONTH), ym(NEXT_MONTH), ym(MONTH_AFTER)]


def test_empty_without_a_published_plan(api, feedback, alice):
    assert api(alice).get("/targets").get_json()["items"] == []


def test_who_reads_whose(api, feedback, alice, bob, charlie, mallory, pat, admin, make_user):
    assert api(alice).get(f"/targets?user_id={bob.id}").status_code == 403
    assert api(mallory).get(f"/targets?user_id={bob.id}").status_code == 200
    assert api(mallory).get(f"/targets?user_id={charlie.id}").status_code == 403
    assert api(pat).get(f"/targets?user_id={charlie.id}").status_code == 200
    assert api(make_user("finance")).get(f"/targets?user_id={charlie.id}").status_code == 200
    assert api(admin).get(f"/targets?user_id={alice.id}").status_code == 200
    assert api(admin).get("/targets?user_id=999999").status_code == 404


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-13", "from"), ("from=March", "from"), ("to=2026-3", "to"), ("user_id=abc", "user_id"),
    ("user_id=0", "user_id"), ("colour=red", "colour"),
])
def test_bad_parameters_are_422_with_the_field(api, feedback, alice, query, field):
    response = api(alice).get(f"/targets?{query}")
    assert response.status_code == 422
    assert field in str(response.get_json())


def test_a_reversed_or_too_long_period_is_422_on_to(api, feedback, alice):
    reversed_ = api(alice).get(f"/targets?from={ym(NEXT_MONTH)}&to={ym(THIS_MONTH)}")
    assert reversed_.status_code == 422 and "to" in reversed_.get_json()["error"]["fields"]
    too_long = api(alice).get(f"/targets?from={ym(THIS_MONTH)}&to={THIS_MONTH.year + 3}-01")
    assert too_long.status_code == 422 and "to" in too_long.get_json()["error"]["fields"]


def test_the_route_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/targets"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"user_id", "from", "to"}
