"""The lead model bootstrapped from a history file, on real telemarketing history (UCI Bank
Marketing, CC BY 4.0, tests/fixtures/bank_marketing/): the success rate drifts from about 7%
to about 32% between training and holdout. Every third row (time order kept) keeps the fits
to a few seconds; bench/lead_model_real.py runs the full files."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from crm.extensions import db
from crm.scoring.history import compare_on_holdout, prepare_history, train_from_csv
from crm.scoring.models import ScoringModel
from crm.scoring.timeorder import expected_calibration_error, fit_calibration, reliability_table
from tests.conftest import NOW

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bank_marketing"


def every_third_row(name: str) -> bytes:
    lines = gzip.decompress((FIXTURES / name).read_bytes()).decode().splitlines()
    return ("\n".join([lines[0]] + lines[1::3]) + "\n").encode()


@pytest.fixture(scope="module")
def bank_full():
    data = every_third_row("bank-full.csv.gz")
    return data, compare_on_holdout(*prepare_history(data, "y"))


@pytest.fixture(scope="module")
def bank_additional():
    return compare_on_holdout(*prepare_history(every_third_row("bank-additional-full-reduced.csv.gz"), "y"))


def test_never_loses_to_plain_logistic_regression_on_drifting_history(bank_full, bank_additional):
    for report in (bank_full[1], bank_additional):
        plain = report["plain_logistic"]
        assert report["auc"] >= plain["auc"] and report["auc"] > 0.7
        assert report["brier"] < plain["brier"] and report["ece"] < plain["ece"]
    # where the trees see more than a linear model can, the model beats it clearly
    assert bank_additional["auc"] > bank_additional["plain_logistic"]["auc"] + 0.03


def test_the_drift_is_reported(bank_full):
    report = bank_full[1]
    drift = report["drift"]
    assert drift["training_rate"] < 0.1 < 0.25 < drift["holdout_rate"]
    assert drift["training_rate"] < drift["window_rate"] < drift["holdout_rate"]  # the recent window is nearer
    assert drift["brier_at_known_rate"] < report["brier"]  # part of the error is the rate's drift
    assert report["calibration"]["slope"] > 0


def test_the_reliability_table_is_the_holdout(bank_full):
    report = bank_full[1]
    table = report["reliability"]
    assert sum(row["rows"] for row in table) == report["n_test"]
    assert all(row["from"] <= row["predicted"] <= row["to"] for row in table)
    weighted_gap = sum(row["rows"] * abs(row["observed"] - row["predicted"]) for row in table) / report["n_test"]
    assert weighted_gap == pytest.approx(report["ece"], abs=1e-3)


def test_calibration_never_reverses_the_order():
    """The bug behind AUC 0.29: a sigmoid fitted on a window where the scores point the wrong
    way turned the ranking upside down. Here it may only shift the scores to the window's rate."""
    rng = np.random.default_rng(3)
    scores = rng.normal(size=400)
    y = (scores + rng.normal(scale=0.5, size=400) < -0.8).astype(int)  # higher score, fewer successes
    calibration = fit_calibration(scores, y)
    assert calibration.slope > 0
    assert calibration.apply(scores).mean() == pytest.approx(y.mean(), abs=1e-3)
    one_class = fit_calibration(scores[:50], np.zeros(50, dtype=int))
    assert one_class.slope > 0 and 0 < one_class.apply(scores[:50]).mean() < 0.02


def test_reliability_table_by_hand():
    y, p = [0, 1, 1, 0], [0.05, 0.15, 0.95, 0.91]
    assert reliability_table(y, p) == [
        {"from": 0.0, "to": 0.1, "rows": 1, "predicted": 0.05, "observed": 0.0},
        {"from": 0.1, "to": 0.2, "rows": 1, "predicted": 0.15, "observed": 1.0},
        {"from": 0.9, "to": 1.0, "rows": 2, "predicted": 0.93, "observed": 0.5}]
    assert expected_calibration_error(y, p) == pytest.approx((0.05 + 0.85 + 2 * 0.43) / 4)


def test_cli_on_real_history_with_an_expected_rate(app, tmp_path, bank_full):
    data, report = bank_full
    path = tmp_path / "bank.csv"
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(args=["crm", "scoring", "train", "--history", str(path),
                                                "--outcome", "y", "--expected-rate", "0.6"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["auc"] == report["auc"] and printed["plain_logistic"] == report["plain_logistic"]
    assert "plain logistic regression" in result.stderr
    stored = db.session.query(ScoringModel).one()
    calibration = stored.metrics["stored"]["calibration"]
    assert 0.25 < calibration["window_rate"] < 0.4 and calibration["shift"] > 0  # the latest rows: about 32%


def test_expected_rate_moves_the_stored_probabilities(bank_full):
    import io

    import joblib

    data, _ = bank_full
    train_from_csv(data, "y", NOW)
    train_from_csv(data, "y", NOW, expected_rate=0.5)
    plain, shifted = (joblib.load(io.BytesIO(m.blob)) for m in db.session.query(ScoringModel).order_by("version"))
    rows = prepare_history(data, "y")[0][-500:]
    assert shifted.predict_proba(rows)[:, 1].mean() > plain.predict_proba(rows)[:, 1].mean() + 0.05
    with pytest.raises(Exception, match="between 0 and 1"):
        train_from_csv(data, "y", NOW, expected_rate=1.5)
