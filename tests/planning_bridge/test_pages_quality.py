"""The calibration and accuracy pages: an honest empty state without history, and on the demo
company's two years of deals the Brier scores, the reliability table and chart data, and the
plain-language verdict on calibrated against stage probabilities."""
from __future__ import annotations

import json
import re

import pytest

from crm.demo.catalog import DEMO_PASSWORD
from crm.demo.seed import DEFAULT_SEED, seed_demo
from crm.demo.timing import reference_today
from planning_bridge import services
from planning_bridge.crm_port import db, utcnow


def test_calibration_without_closed_deals_says_why(client, login, pat, families):
    login(client, pat)
    response = client.get("/planning/calibration")
    assert response.status_code == 200
    assert "Not enough closed deals yet" in response.get_data(as_text=True)


def test_accuracy_without_history_says_why(client, login, pat, families):
    login(client, pat)
    response = client.get("/planning/accuracy")
    assert response.status_code == 200
    assert "No past months to score yet" in response.get_data(as_text=True)


def test_calibration_rejects_a_bad_date_with_a_message(client, login, pat):
    login(client, pat)
    response = client.get("/planning/calibration?as_of=yesterday")
    assert response.status_code == 200
    assert "is not a date written as YYYY-MM-DD" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_quality_pages_are_for_planners(client, login, make_user, role):
    login(client, make_user(role))
    assert client.get("/planning/calibration").status_code == 403
    assert client.get("/planning/accuracy").status_code == 403


@pytest.mark.slow
def test_quality_pages_on_the_demo_company(client, login):
    """Seeds the demo (seconds): one test reads every page that needs real history."""
    from crm.auth.models import User

    seed_demo(seed=DEFAULT_SEED, today=reference_today(utcnow()), commit=db.session.commit)
    planner = db.session.query(User).filter_by(role="planner").first()
    login(client, planner, password=DEMO_PASSWORD)

    calibration = client.get("/planning/calibration").get_data(as_text=True)
    reports = {r.source: r for r in services.calibration_reports()}
    assert reports["stage"].holdout_count > 0
    assert f"{reports['stage'].brier:.3f}" in calibration
    assert f"{reports['calibrated'].brier:.3f}" in calibration
    assert 'id="reliability-stage"' in calibration and 'id="reliability-calibrated"' in calibration
    chart = json.loads(re.search(r'id="reliability-data">(.*?)</script>', calibration, re.S).group(1))
    assert {s["source"] for s in chart["sources"]} == {"stage", "calibrated"}
    assert all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 for s in chart["sources"] for p in s["points"])

    accuracy = client.get("/planning/accuracy").get_data(as_text=True)
    verdict = re.search(r'<p class="verdict[^"]*" id="verdict">(.*?)</p>', accuracy, re.S)
    assert verdict, "the accuracy page states whether calibrated beats stage"
    assert re.search(r"Calibrated probabilities (beat|do not beat) the stage defaults"
                     r"|Mixed: calibrated|equally accurate", verdict.group(1))
    assert 'id="accuracy-rebuilt"' in accuracy
    assert "All families" in accuracy
