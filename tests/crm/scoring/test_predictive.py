"""The predictive model: a synthetic history with a known signal (fixed random state) is
learned, and beats chance clearly; bad files get clear errors; the CLI prints one JSON object;
training on the CRM's own history stores a model and scores open contacts."""
from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import update

from crm.contacts.models import Contact
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.scoring.history import train_from_csv
from crm.scoring.models import ContactScore, ScoringModel
from crm.scoring.predictive import evaluate, train_from_crm
from crm.scoring.scores import record_event
from tests.conftest import NOW


def synthetic_csv(rows: int = 600, delimiter: str = ",", seed: int = 11) -> bytes:
    """Conversion depends on pricing visits, the industry and a custom field; email is noise."""
    rng = random.Random(seed)
    lines = [delimiter.join(["email", "pricing_visits", "industry", "custom_tier", "employees", "converted"])]
    for i in range(rows):
        visits = rng.randint(0, 6)
        industry = rng.choice(["food", "chemicals", "water", "mining"])
        tier = rng.choice(["gold", "silver", "bronze", ""])
        employees = rng.choice(["", str(rng.randint(5, 5000))])
        logit = -2.5 + 0.8 * visits + (1.2 if industry == "chemicals" else 0) + (1.0 if tier == "gold" else 0)
        converted = rng.random() < 1 / (1 + pow(2.718281828, -logit))
        outcome = rng.choice(["yes", "Yes", "1", "true"]) if converted else rng.choice(["no", "0", "FALSE"])
        lines.append(delimiter.join([f"p{i}@example.com", str(visits), industry, tier, employees, outcome]))
    return ("\n".join(lines) + "\n").encode()


def test_metrics_by_hand():
    metrics = evaluate([0, 0, 0, 1] * 5, [0.1, 0.2, 0.3, 0.9] * 5)
    assert metrics.auc == 1.0 and metrics.lift_top_decile == pytest.approx(4.0)
    assert metrics.brier == pytest.approx((0.01 + 0.04 + 0.09 + 0.01) / 4)


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_history_file_with_a_known_signal(delimiter):
    report = train_from_csv(synthetic_csv(delimiter=delimiter), "converted", NOW)
    db.session.commit()
    assert {"auc", "lift_top_decile", "brier", "ece", "reliability", "drift", "plain_logistic", "n_train",
            "n_test"} <= set(report)
    assert (report["n_train"], report["n_test"]) == (480, 120)
    assert report["auc"] > 0.75 and report["lift_top_decile"] > 1.5 and report["brier"] < 0.2
    stored = db.session.query(ScoringModel).one()
    assert stored.source == "history" and set(stored.feature_names) == {
        "pricing_visits", "industry", "custom_tier", "employees"}  # the email column is an identifier


def test_the_signal_is_what_is_learned():
    """Shuffling the outcome destroys the signal: the AUC falls to chance."""
    lines = synthetic_csv().decode().splitlines()
    header, body = lines[0], [line.rsplit(",", 1) for line in lines[1:]]
    outcomes = [o for _, o in body]
    random.Random(3).shuffle(outcomes)
    shuffled = "\n".join([header] + [f"{f},{o}" for (f, _), o in zip(body, outcomes)]).encode()
    assert train_from_csv(shuffled, "converted", NOW)["auc"] < 0.65


@pytest.mark.parametrize("data, outcome, message", [
    (b"", "converted", "empty"),
    (b"a,converted\n", "converted", "no rows"),
    (synthetic_csv(40), "bought", "no column 'bought'"),
    (("x,converted\n" + "1,no\n" * 30).encode(), "converted", "only one outcome"),
    (("x,converted\n" + "1,no\n2,yes\n" * 10 + "3,maybe\n").encode(), "converted", "'maybe' is not yes/no"),
    (("x,converted\n" + "1,no\n2,yes\n").encode(), "converted", "at least 10 rows"),
])
def test_bad_history_files_get_clear_errors(data, outcome, message):
    with pytest.raises(ValidationFailed) as caught:
        train_from_csv(data, outcome, NOW)
    assert message in caught.value.message


def test_cli_prints_one_json_object(app, tmp_path):
    path = tmp_path / "history.csv"
    path.write_bytes(synthetic_csv(delimiter=";"))
    result = app.test_cli_runner().invoke(args=["crm", "scoring", "train", "--history", str(path),
                                                "--outcome", "converted"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_test"] == 120
    missing = app.test_cli_runner().invoke(args=["crm", "scoring", "train", "--history", str(path),
                                                 "--outcome", "nope"])
    assert missing.exit_code != 0 and "no column 'nope'" in missing.output


def test_training_on_the_crms_history(app, make_contact):
    """Buyers read the pricing page in the weeks before converting; the others browse the blog."""
    rng = random.Random(5)
    start = NOW - timedelta(days=500)
    buyers = []
    for i in range(160):
        contact = make_contact(title=rng.choice(["VP Sales", "Buyer", "Engineer"]))
        converts = i % 4 == 0
        converted_at = start + timedelta(days=rng.randint(60, 480)) if converts else None
        db.session.execute(update(Contact).where(Contact.id == contact.id).values(
            created_at=start, lifecycle_stage="customer" if converts else "lead",
            updated_at=converted_at or start))
        for _ in range(rng.randint(1, 4)):
            record_event(contact.id, "page_viewed", start + timedelta(days=rng.randint(1, 490)),
                         url="https://acme.example/blog")
        if converts:
            buyers.append(contact.id)
            for _ in range(rng.randint(2, 5)):
                record_event(contact.id, "page_viewed", converted_at - timedelta(days=rng.randint(1, 40)),
                             url="https://acme.example/pricing")
    db.session.commit()
    report = train_from_crm(NOW)
    db.session.commit()
    assert report["model"]["auc"] > 0.7
    assert report["n_train"] > 0 and report["n_test"] > 0
    assert report["scored_contacts"] == 160 - len(buyers) + sum(
        1 for cid in buyers if db.session.get(Contact, cid).updated_at > NOW)
    stored = db.session.query(ScoringModel).one()
    assert stored.active and stored.source == "crm" and stored.metrics["model"]["auc"] == report["model"]["auc"]
    open_row = db.session.query(ContactScore).filter(ContactScore.predictive.is_not(None)).first()
    assert open_row is not None and 0 <= open_row.predictive <= 1

    result = app.test_cli_runner().invoke(args=["crm", "scoring", "train"])
    assert result.exit_code == 0, result.output
    assert "predictive model" in result.output and "engagement alone" in result.output
