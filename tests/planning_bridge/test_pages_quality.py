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
from tests.conftest import csrf_from


def test_calibration_without_closed_deals_says_why(client, login, pat, families):
    login(client, pat)
    before = client.get("/planning/calibration").get_data(as_text=True)
    assert "Not computed yet" in before and "Compute now" in before
    services.compute_default_figures(utcnow())
    db.session.commit()
    response = client.get("/planning/calibration")
    assert response.status_code == 200
    assert "Not enough closed deals yet" in response.get_data(as_text=True)


def test_accuracy_without_history_says_why(client, login, pat, families):
    login(client, pat)
    assert "Not computed yet" in client.get("/planning/accuracy").get_data(as_text=True)
    services.compute_default_figures(utcnow())
    db.session.commit()
    response = client.get("/planning/accuracy")
    assert response.status_code == 200
    assert "No past months to score yet" in response.get_data(as_text=True)


def test_compute_now_queues_the_worker_once(client, login, pat, families):
    """The button queues one job (a second click shows the same one) and the worker's run
    stores the figures the page then reads."""
    from crm.jobs.models import BackgroundJob
    from crm.jobs.runner import run_queued_jobs

    login(client, pat)
    token = csrf_from(client.get("/planning/accuracy").get_data(as_text=True))
    first = client.post("/planning/figures", data={"csrf_token": token})
    second = client.post("/planning/figures", data={"csrf_token": token})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.query(BackgroundJob).count() == 1
    assert run_queued_jobs(utcnow()) == 1
    assert db.session.query(BackgroundJob).one().status == "done"
    assert services.stored_accuracy() is not None and services.stored_calibration() is not None


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
    planner.language = "en"  # the demo's planner reads Spanish; these phrases are the English ones
    db.session.commit()
    login(client, planner, password=DEMO_PASSWORD)
    services.compute_default_figures(utcnow())  # what the month-end job or the worker does
    db.session.commit()

    calibration = client.get("/planning/calibration").get_data(as_text=True)
    reports = {r.source: r for r in services.calibration_reports()}
    stage = reports["stage"]
    seen = (f"{stage.holdout_deals:,} deals seen open at {stage.holdout_count:,} review moments from "
            f"{stage.holdout_from.isoformat()} to {stage.holdout_until.isoformat()}, all closed since")
    assert seen in calibration and 'id="one-story"' in calibration
    assert reports["stage"].holdout_count > 0
    assert f"{reports['stage'].brier:.3f}" in calibration
    assert f"{reports['calibrated'].brier:.3f}" in calibration
    assert 'id="reliability-stage"' in calibration and 'id="reliability-calibrated"' in calibration
    chart = json.loads(re.search(r'id="reliability-data">(.*?)</script>', calibration, re.S).group(1))
    assert {s["source"] for s in chart["sources"]} == {"stage", "calibrated", "blend"}
    assert all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 for s in chart["sources"] for p in s["points"])

    accuracy = client.get("/planning/accuracy").get_data(as_text=True)
    verdict = re.search(r'<p class="verdict[^"]*" id="verdict">(.*?)</p>', accuracy, re.S)
    assert verdict, "the accuracy page states whether calibrated beats stage"
    assert re.search(r"Calibrated probabilities (beat|do not beat) the stage defaults"
                     r"|Mixed: calibrated|equally accurate", verdict.group(1))
    assert 'id="accuracy-rebuilt"' in accuracy
    assert 'id="one-story"' in accuracy and 'id="source-choice"' in accuracy
    assert "All families" in accuracy
