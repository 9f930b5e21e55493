"""In real headless Chromium, under the strict CSP: the planner's demand page draws a chart per
family with the vendored Chart.js (non-blank canvas, a Chart instance), a number in the table
and a bar of the chart both open the deals behind them, and the calibration page draws its
reliability chart."""
from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp/planning-browser-{name}.png"
RANGE = "from=2030-01&to=2030-12&probabilities=stage"


@pytest.fixture
def pipeline(make_deal, stages, alice):
    make_deal(name="Pumps for Initech", stage_id=stages[2].id, expected_close=date(2030, 1, 10),
              owner_id=alice.id, lines=[{"family": "PUMP", "quantity": 10, "unit_price": "100.00"}])
    make_deal(name="Valves for Hooli", stage_id=stages[3].id, expected_close=date(2030, 4, 2),
              lines=[{"family": "VALVE", "quantity": 40, "unit_price": "25.00"},
                     {"family": "PUMP", "quantity": 4, "unit_price": "100.00"}])


def _sign_in(page, user):
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/planning/")


def _chart_state(page, canvas_id: str) -> dict:
    """Whether Chart.js owns the canvas, and how many of its pixels are painted."""
    return page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            const chart = window.Chart && Chart.getChart(canvas);
            const ctx = canvas.getContext("2d");
            const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) { painted++; } }
            return {chart: !!chart, datasets: chart ? chart.data.datasets.length : 0,
                    width: canvas.width, height: canvas.height, painted: painted};
        }""",
        canvas_id,
    )


def test_demand_page_draws_charts_and_drills_into_numbers(page, pat, pipeline):
    _sign_in(page, pat)
    page.goto(f"/planning/?{RANGE}")
    page.wait_for_selector("#chart-PUMP")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-PUMP'))")
    page.screenshot(path=SCREENSHOTS.format(name="demand"), full_page=True)

    for canvas in ("chart-PUMP", "chart-VALVE"):
        state = _chart_state(page, canvas)
        assert state["chart"] and state["datasets"] == 6
        assert state["width"] > 300 and state["height"] > 200
        assert state["painted"] > 0.02 * state["width"] * state["height"], state

    # A number in the table: PUMP, Feb 2030 (close 10 Jan + 30 days' lead time), 10 x 50 %.
    page.click("#demand-grid a[href*='/planning/demand/PUMP/2030-02']")
    page.wait_for_url("**/planning/demand/PUMP/2030-02**")
    assert page.locator("#contributions").is_visible()
    assert "Pumps for Initech" in page.inner_text("#contributions")
    assert "Alice Rep" in page.inner_text("#contributions")
    page.screenshot(path=SCREENSHOTS.format(name="drilldown"), full_page=True)

    # A bar of the chart: VALVE, Apr 2030 (close 2 Apr + 14 days).
    page.go_back()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-VALVE'))")
    point = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById('chart-VALVE'));
            const index = chart.data.labels.indexOf('2030-04');
            const bar = chart.getDatasetMeta(1).data[index];
            return {x: bar.x, y: (bar.y + bar.base) / 2};
        }""")
    page.locator("#chart-VALVE").scroll_into_view_if_needed()
    page.locator("#chart-VALVE").click(position={"x": point["x"], "y": point["y"]})
    page.wait_for_url("**/planning/demand/VALVE/2030-04**")
    assert "Valves for Hooli" in page.inner_text("#contributions")
    assert page.console_errors == []


def test_empty_pipeline_draws_zero_charts_without_errors(page, pat, families):
    _sign_in(page, pat)
    page.goto(f"/planning/?{RANGE}")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-PUMP'))")
    assert _chart_state(page, "chart-PUMP")["painted"] > 0  # axes and legend at least
    page.screenshot(path=SCREENSHOTS.format(name="empty"), full_page=True)
    assert page.console_errors == []
