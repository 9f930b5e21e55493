"""Family settings (combine rule, commit stage) and the outlier review, from the pages."""
from __future__ import annotations

import io
import math

import pytest

from planning_bridge import services
from planning_bridge.crm_port import db
from planning_bridge.periods import month_index, period_text
from tests.conftest import NOW, csrf_from


@pytest.fixture
def planner(client, login, pat, families, stages):
    login(client, pat)
    return pat


def _post(client, path: str, page: str, **form):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **form})


def _setting(family: str):
    return next(s for s in services.family_settings() if s.family == family)


def test_settings_page_lists_every_family_with_its_rule(client, planner):
    html = client.get("/planning/settings").get_data(as_text=True)
    assert 'action="/planning/settings/PUMP"' in html and 'action="/planning/settings/VALVE"' in html
    assert "Baseline + pipeline" in html


def test_planner_changes_the_combine_rule_and_commit_stage(client, planner):
    response = _post(client, "/planning/settings/PUMP", "/planning/settings",
                     combine_rule="pipeline", commit_stage="Proposal")
    assert response.status_code == 302
    setting = _setting("PUMP")
    assert (setting.combine_rule, setting.commit_stage, setting.is_default) == ("pipeline", "Proposal", False)
    assert "PUMP: pipeline only, commit from Proposal." in client.get("/planning/settings").get_data(as_text=True)


def test_an_unknown_rule_is_refused_with_a_message(client, planner):
    _post(client, "/planning/settings/PUMP", "/planning/settings", combine_rule="gut", commit_stage="")
    assert _setting("PUMP").is_default
    assert "PUMP: invalid family setting" in client.get("/planning/settings").get_data(as_text=True)


def test_settings_of_an_unknown_family_are_not_found(client, planner):
    response = _post(client, "/planning/settings/NOSUCH", "/planning/settings", combine_rule="pipeline")
    assert response.status_code == 404


def test_settings_need_the_csrf_token(client, planner):
    response = client.post("/planning/settings/PUMP", data={"combine_rule": "pipeline"})
    assert response.status_code == 400
    assert _setting("PUMP").is_default


# --- outliers ---------------------------------------------------------------------------

SPIKE = 20  # months before the current one


@pytest.fixture
def spiky_actuals(planner):
    """Three years of a steady seasonal PUMP series ending last month, one month ten times too
    high. Periods are relative to the app clock's month: the review reads actuals up to today."""
    from planning_bridge.crm_port import utcnow

    this_month = month_index(utcnow().date())
    lines = ["family,period,units,revenue"]
    for back in range(36, 0, -1):
        month = this_month - back
        units = 100 + 30 * math.sin(2 * math.pi * (month % 12) / 12)
        lines.append(f"PUMP,{period_text(month)},{units * (10 if back == SPIKE else 1):.1f},")
    result = services.import_actuals_csv(io.StringIO("\n".join(lines) + "\n"), now=NOW)
    assert result.ok, result.rejected
    db.session.commit()
    return period_text(this_month - SPIKE)


def test_outlier_review_flags_the_spike(client, spiky_actuals):
    html = client.get("/planning/settings/PUMP/outliers").get_data(as_text=True)
    assert spiky_actuals in html
    assert "badge-warn" in html


def test_planner_accepts_overrides_keeps_and_undoes(client, spiky_actuals):
    page = "/planning/settings/PUMP/outliers"
    path = f"/planning/settings/PUMP/outliers/{spiky_actuals}"

    def flag():
        return next(f for f in services.list_outliers("PUMP") if f.period == spiky_actuals)

    assert _post(client, path, page, action="accept").status_code == 302
    original = flag().original_units
    assert original > 500  # the spike, ten times the usual month
    assert flag().accepted is True and flag().effective_units == pytest.approx(flag().suggested_units, rel=1e-6)
    assert "the suggested value replaces the outlier" in client.get(page).get_data(as_text=True)

    _post(client, path, page, action="override", value="123.5")
    assert flag().effective_units == pytest.approx(123.5)
    assert flag().original_units == original  # the original is kept

    _post(client, path, page, action="keep")
    assert flag().accepted is False and flag().effective_units == pytest.approx(original)

    _post(client, path, page, action="reset")
    after = [f for f in services.list_outliers("PUMP") if f.period == spiky_actuals]
    assert all(f.accepted is None for f in after)  # listed again only while flagged


@pytest.mark.parametrize("value", ["lots", "-5", "nan", "1e400", ""])
def test_a_bad_override_value_gets_a_message(client, spiky_actuals, value):
    from planning_bridge.models import OutlierOverride

    page = "/planning/settings/PUMP/outliers"
    _post(client, f"/planning/settings/PUMP/outliers/{spiky_actuals}", page, action="override", value=value)
    assert db.session.query(OutlierOverride).count() == 0
    assert f"{spiky_actuals}: " in client.get(page).get_data(as_text=True)


def test_an_unknown_action_gets_a_message(client, spiky_actuals):
    from planning_bridge.models import OutlierOverride

    page = "/planning/settings/PUMP/outliers"
    _post(client, f"/planning/settings/PUMP/outliers/{spiky_actuals}", page, action="delete-everything")
    assert db.session.query(OutlierOverride).count() == 0
    assert "Choose accept, override or keep the original." in client.get(page).get_data(as_text=True)


def test_deciding_on_a_month_without_actuals_gets_a_message(client, spiky_actuals):
    page = "/planning/settings/PUMP/outliers"
    response = _post(client, "/planning/settings/PUMP/outliers/1999-01", page, action="keep")
    assert response.status_code == 302
    assert "1999-01: no actuals for that month" in client.get(page).get_data(as_text=True)


def test_a_family_without_actuals_has_nothing_to_review(client, planner):
    html = client.get("/planning/settings/VALVE/outliers").get_data(as_text=True)
    assert "has no actual orders yet" in html


def test_planner_corrects_a_month_that_was_not_flagged(client, spiky_actuals):
    from planning_bridge.crm_port import utcnow

    page = "/planning/settings/PUMP/outliers"
    last_month = period_text(month_index(utcnow().date()) - 1)
    assert _post(client, "/planning/settings/PUMP/outliers", page, period=last_month, value="77").status_code == 302
    flag = next(f for f in services.list_outliers("PUMP") if f.period == last_month)
    assert flag.effective_units == 77 and flag.original_units != 77
    message = f"{last_month}: the baseline now reads 77 units; the original is kept."
    assert message in client.get(page).get_data(as_text=True)


def test_correcting_needs_a_real_month(client, spiky_actuals):
    page = "/planning/settings/PUMP/outliers"
    _post(client, "/planning/settings/PUMP/outliers", page, period="last May", value="77")
    assert "is not a month written as YYYY-MM" in client.get(page).get_data(as_text=True)
