"""The demand-input page: who may see it, the family x month numbers with their chart data and
drill-down links, the empty states, the filters, and the CSV download."""
from __future__ import annotations

import csv
import io

import pytest

from planning_bridge.contracts import DEMAND_COLUMNS
from tests.conftest import csrf_from
from tests.planning_bridge.pages_helpers import FUTURE, RANGE, chart_data, value_at


@pytest.fixture
def pipeline(make_deal, stages):
    """Two open deals with known stage probabilities, one lost deal that must not count.
    PUMP's lead time is 30 days and VALVE's 14: a close on 10 Jan 2030 is demand in Feb (PUMP)
    and Jan (VALVE)."""
    proposal, negotiation = stages[2], stages[3]  # 50 % and 75 %
    make_deal(name="Pumps for Initech", stage_id=proposal.id, expected_close=FUTURE,
              lines=[{"family": "PUMP", "quantity": 10, "unit_price": "100.00"}])
    make_deal(name="Valves for Hooli", stage_id=negotiation.id, expected_close=FUTURE,
              lines=[{"family": "VALVE", "quantity": 8, "unit_price": "25.00"},
                     {"family": "PUMP", "quantity": 2, "unit_price": "100.00"}])
    return proposal, negotiation


@pytest.mark.parametrize("persona", ["pat", "admin"])
def test_planners_and_admins_see_the_demand_input(request, client, login, pipeline, persona):
    login(client, request.getfixturevalue(persona))
    response = client.get("/planning/", query_string=RANGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="demand-grid"' in html
    pump = chart_data(html, "PUMP")
    # 10 x 50 % + 2 x 75 % in Feb 2030 (close 10 Jan + 30 days lead time)
    assert value_at(pump, "weighted", "2030-02") == pytest.approx(6.5)
    assert value_at(pump, "weighted", "2030-01") == 0
    assert value_at(chart_data(html, "VALVE"), "weighted", "2030-01") == pytest.approx(6.0)
    assert "/planning/demand/PUMP/2030-02?from=2030-01&amp;to=2030-06&amp;probabilities=stage" in html


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_sales_roles_are_refused(client, login, make_user, role):
    login(client, make_user(role))
    for path in ("/planning/", "/planning/demand.csv", "/planning/demand/PUMP/2030-02"):
        assert client.get(path).status_code == 403


def test_planners_land_on_the_demand_input(client, login, pat):
    login(client, pat)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/planning/")
    page = client.get("/planning/").get_data(as_text=True)
    assert 'href="/planning/" aria-current="page">Planning' in page


def test_empty_pipeline_shows_zeros_not_errors(client, login, pat, families):
    login(client, pat)
    response = client.get("/planning/", query_string=RANGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    pump = chart_data(html, "PUMP")
    assert pump["weighted"][-6:] == [0, 0, 0, 0, 0, 0]
    assert pump["demand_input"][-6:] == [0, 0, 0, 0, 0, 0]
    assert "/planning/demand/PUMP/" not in html  # nothing to drill into


def test_without_families_the_page_says_what_to_do(client, login, pat):
    login(client, pat)
    html = client.get("/planning/").get_data(as_text=True)
    assert "No product families to plan" in html


def test_bad_filters_get_a_message_and_the_defaults(client, login, pat, families):
    login(client, pat)
    response = client.get("/planning/", query_string={
        "from": "2030-13", "to": "nope", "probabilities": "gut-feeling", "family": "NOSUCH"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "is not a month written as YYYY-MM" in html
    assert "Probabilities are chosen, stage or calibrated" in html
    assert "Unknown product family: NOSUCH" in html


def test_end_before_start_falls_back_to_eighteen_months(client, login, pat, families):
    login(client, pat)
    html = client.get("/planning/", query_string={"from": "2030-05", "to": "2030-01"}).get_data(as_text=True)
    assert "The end month is before the start month" in html
    assert len(chart_data(html, "PUMP")["demand_input"]) >= 18


def test_family_filter_limits_the_page(client, login, pat, pipeline):
    login(client, pat)
    html = client.get("/planning/", query_string={**RANGE, "family": "VALVE"}).get_data(as_text=True)
    assert 'id="chart-data-VALVE"' in html
    assert 'id="chart-data-PUMP"' not in html


def test_the_combine_rule_is_explained_per_family(client, login, pat, families):
    login(client, pat)
    html = client.get("/planning/", query_string=RANGE).get_data(as_text=True)
    assert html.count('class="rule"') == 2
    assert "so an order is never counted twice" in html  # the default rule, baseline + pipeline


def test_csv_download_has_exactly_the_demand_columns(client, login, pat, pipeline):
    login(client, pat)
    response = client.get("/planning/demand.csv", query_string=RANGE)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == DEMAND_COLUMNS
    by_key = {(row[0], row[1]): dict(zip(DEMAND_COLUMNS, row)) for row in rows[1:]}
    assert len(by_key) == 2 * 6  # two families, six months
    feb = by_key[("PUMP", "2030-02")]
    assert float(feb["weighted_units"]) == pytest.approx(6.5)
    assert float(feb["best_case_units"]) == 12
    assert feb["deal_count"] == "2"
    assert feb["snapshot_id"] == ""  # a live computation


def test_csv_download_matches_the_api(client, login, pat, pipeline, api_token):
    """The page's CSV and the API's are the same file."""
    login(client, pat)
    page = client.get("/planning/demand.csv", query_string=RANGE).get_data(as_text=True)
    api = client.get("/api/v1/planning/demand-input", query_string={**RANGE, "format": "csv"},
                     headers=api_token(pat))
    assert api.status_code == 200
    assert page == api.get_data(as_text=True)


def test_take_snapshot_button_posts_with_csrf(client, login, pat, families):
    login(client, pat)
    html = client.get("/planning/", query_string=RANGE).get_data(as_text=True)
    assert 'action="/planning/snapshots"' in html
    assert csrf_from(html)


def test_demand_page_queries_do_not_grow_with_the_pipeline(client, login, pat, make_deal, stages, count_queries):
    """No query per deal or per month: three times the deals, the same number of queries."""
    login(client, pat)

    def add_deals(count: int) -> None:
        for n in range(count):
            make_deal(stage_id=stages[n % 4].id, expected_close=FUTURE,
                      lines=[{"family": "PUMP", "quantity": n + 1, "unit_price": "10.00"},
                             {"family": "VALVE", "quantity": 2, "unit_price": "5.00"}])

    def queries_for_pages() -> int:
        with count_queries() as counter:
            assert client.get("/planning/", query_string=RANGE).status_code == 200
            assert client.get("/planning/demand/PUMP/2030-02", query_string=RANGE).status_code == 200
        return counter.count

    add_deals(8)
    few = queries_for_pages()
    add_deals(16)
    assert queries_for_pages() == few
