"""The predictive score: a scikit-learn model of "will this contact become an opportunity
or customer in the next 90 days", trained on the CRM's own history, or bootstrapped from a
history file exported from another CRM (``train_from_csv``).

Training on the CRM's history is point-in-time, so nothing from the future leaks in: every
30 days through the history (a *snapshot*), each contact that had not converted yet gives one
row whose features only use events before the snapshot (human events per scoring rule in the
last 7 / 30 / 90 days, days since the last one, the decayed engagement, fit attributes) and
whose label says whether the contact converted (first deal, or lifecycle stage opportunity /
customer) within the 90 days after. The holdout is time-based: the latest 20% of snapshot
rows. Scoring "now" takes the contacts' current features.

Model: ``crm.scoring.timeorder.fit_time_ordered``: gradient boosting, logistic regression or
their blend, whichever ranks the most recent window of the training rows best, calibrated on
that window (rates drift; exchangeable cross-validation folds fitted inverted sigmoids), so
the output reads as a probability. It is compared on the holdout with the engagement score
alone (AUC, lift in the top decile, and Brier after a one-feature logistic calibration of the
engagement).
"""
from __future__ import annotations

import bisect
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sqlalchemy import func, select
from threadpoolctl import threadpool_limits

from crm.contacts.models import Company, Contact
from crm.deals.models import Deal
from crm.errors import ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.scoring.models import ScoreEvent, ScoringModel
from crm.scoring.rules import Ruleset, fit_of, load_ruleset
from crm.scoring.scores import hours, store_predictions
from crm.scoring.timeorder import fit_time_ordered

HORIZON = timedelta(days=90)
SNAPSHOT_EVERY = timedelta(days=30)
WINDOWS_DAYS = (7, 30, 90)
HOLDOUT_SHARE = 0.2
CONVERTED_STAGES = ("opportunity", "customer")


@dataclass
class Metrics:
    auc: float
    lift_top_decile: float
    brier: float

    def as_dict(self) -> dict[str, float]:
        return {"auc": round(self.auc, 4), "lift_top_decile": round(self.lift_top_decile, 4),
                "brier": round(self.brier, 4)}


def evaluate(y_true, probabilities) -> Metrics:
    y_true = np.asarray(y_true, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    top = max(1, int(math.ceil(len(p) * 0.1)))
    order = np.argsort(-p, kind="stable")
    base_rate = y_true.mean()
    lift = (y_true[order[:top]].mean() / base_rate) if base_rate > 0 else 0.0
    return Metrics(float(roc_auc_score(y_true, p)), float(lift), float(brier_score_loss(y_true, p)))


def one_thread():
    """Fit on one thread: OpenMP's default of one thread per core oversubscribes a busy
    machine (a 2-second fit took 100 s next to other work) and makes results vary."""
    return threadpool_limits(limits=1)


def check_labels(y_train, y_test) -> None:
    if len(set(y_train)) < 2:
        raise ValidationFailed(_("the training rows hold only one outcome: need contacts who converted and "
                               "contacts who did not"), {"outcome": _("only one class")})
    if len(set(y_test)) < 2:
        raise ValidationFailed(_("the holdout (the latest fifth of the rows) holds only one outcome: the metrics "
                               "cannot be computed"), {"outcome": _("only one class in the holdout")})


def pickle_model(model) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def load_active_model() -> tuple[ScoringModel, object] | None:
    record = db.session.scalars(
        select(ScoringModel).where(ScoringModel.active.is_(True)).order_by(ScoringModel.id.desc()).limit(1)
    ).first()
    if record is None:
        return None
    return record, joblib.load(io.BytesIO(record.blob))


def save_model(model, *, source: str, metrics: dict, feature_names: list[str], now: datetime,
               activate: bool) -> ScoringModel:
    version = (db.session.scalar(select(func.max(ScoringModel.version))) or 0) + 1
    if activate:
        db.session.execute(db.update(ScoringModel).values(active=False))
    record = ScoringModel(version=version, source=source, metrics=metrics, feature_names=feature_names,
                          blob=pickle_model(model), active=activate, created_at=now)
    db.session.add(record)
    db.session.flush()
    return record


# --- features from the CRM ------------------------------------------------------------------

@dataclass
class ContactFacts:
    contact_id: int
    created_at: datetime
    converted_at: datetime | None
    fit_points: float
    seniority: float  # the matched title rule's points (0 if none)
    log_employees: float
    event_hours: dict[int, list[float]]  # rule index -> sorted event times (hours since EPOCH)
    all_hours: list[float]  # every scored event time, sorted
    points_at: list[tuple[float, float]]  # (hours, points), sorted


def feature_names(ruleset: Ruleset) -> list[str]:
    names = []
    for rule in ruleset.rules:
        name = f"{rule.kind}{':' + rule.url_contains if rule.url_contains else ''}"
        names += [f"{name} last {w}d" for w in WINDOWS_DAYS]
    return names + ["engagement", "days since last event", "events before", "fit", "title seniority",
                    "log employees", "days known"]


def _conversions() -> dict[int, datetime]:
    first_deal = dict(db.session.execute(
        select(Deal.contact_id, func.min(Deal.created_at)).where(Deal.contact_id.is_not(None))
        .group_by(Deal.contact_id)).all())
    staged = db.session.execute(
        select(Contact.id, Contact.updated_at).where(Contact.lifecycle_stage.in_(CONVERTED_STAGES))).all()
    for contact_id, updated_at in staged:
        first_deal.setdefault(contact_id, updated_at)  # no deal: the stage change is our best date
    return first_deal


def load_facts(ruleset: Ruleset) -> list[ContactFacts]:
    """Everything the features need, in three queries."""
    conversions = _conversions()
    facts: dict[int, ContactFacts] = {}
    for cid, created, title, employees, industry in db.session.execute(
        select(Contact.id, Contact.created_at, Contact.title, Company.employee_count, Company.industry)
        .outerjoin(Company, Company.id == Contact.company_id)
    ):
        fit = fit_of(ruleset.fit_rules, title, employees, industry)
        seniority = max((r.points for r in ruleset.fit_rules if r.attribute == "title" and fit.title_label
                         and r.label == fit.title_label), default=0.0)
        facts[cid] = ContactFacts(cid, created, conversions.get(cid), fit.points, seniority,
                                  math.log1p(employees or 0), {}, [], [])
    rule_index = {rule: i for i, rule in enumerate(ruleset.rules)}
    for cid, kind, url, at in db.session.execute(
        select(ScoreEvent.contact_id, ScoreEvent.kind, ScoreEvent.url, ScoreEvent.occurred_at)
        .order_by(ScoreEvent.contact_id, ScoreEvent.occurred_at).execution_options(yield_per=20000)
    ):
        fact = facts.get(cid)
        rule = ruleset.rule_for(kind, url)
        if fact is None or rule is None or rule.points <= 0:
            continue
        h = hours(at)
        fact.event_hours.setdefault(rule_index[rule], []).append(h)
        fact.all_hours.append(h)
        fact.points_at.append((h, rule.points))
    return list(facts.values())


def features_at(fact: ContactFacts, at: datetime, ruleset: Ruleset) -> tuple[list[float], float]:
    """(feature vector, engagement at ``at``) from events strictly before ``at``."""
    t = hours(at)
    row: list[float] = []
    for index in range(len(ruleset.rules)):
        times = fact.event_hours.get(index, [])
        end = bisect.bisect_left(times, t)
        row += [float(end - bisect.bisect_left(times, t - w * 24)) for w in WINDOWS_DAYS]
    h = ruleset.half_life_hours
    engagement = sum(p * 2.0 ** (-(t - e) / h) for e, p in fact.points_at if e < t)
    before = bisect.bisect_left(fact.all_hours, t)
    since_last = (t - fact.all_hours[before - 1]) / 24 if before else 730.0
    days_known = max(0.0, (t - hours(fact.created_at)) / 24)
    row += [engagement, min(since_last, 730.0), float(before), fact.fit_points, fact.seniority,
            fact.log_employees, days_known]
    return row, engagement


def training_rows(facts: list[ContactFacts], ruleset: Ruleset, now: datetime):
    """Point-in-time rows: (snapshot time, features, engagement, label)."""
    if not facts:
        return []
    start = min(f.created_at for f in facts) + SNAPSHOT_EVERY
    rows = []
    snapshot = start
    while snapshot + HORIZON <= now:
        for fact in facts:
            if fact.created_at >= snapshot or (fact.converted_at and fact.converted_at <= snapshot):
                continue
            features, engagement = features_at(fact, snapshot, ruleset)
            label = int(fact.converted_at is not None and fact.converted_at <= snapshot + HORIZON)
            rows.append((snapshot, features, engagement, label))
        snapshot += SNAPSHOT_EVERY
    return rows


def train_from_crm(now: datetime) -> dict:
    """Train, evaluate against engagement alone, store and apply. Returns the report."""
    ruleset = load_ruleset()
    facts = load_facts(ruleset)
    rows = training_rows(facts, ruleset, now)
    if len(rows) < 20:
        raise ValidationFailed(_("not enough history to train on (fewer than 20 contact snapshots)"))
    rows.sort(key=lambda r: r[0])
    split = int(len(rows) * (1 - HOLDOUT_SHARE))
    # keep a snapshot's rows on one side of the split
    while 0 < split < len(rows) and rows[split][0] == rows[split - 1][0]:
        split += 1
    X = np.array([r[1] for r in rows], dtype=float)
    engagement = np.array([r[2] for r in rows], dtype=float)
    y = np.array([r[3] for r in rows], dtype=int)
    check_labels(y[:split], y[split:])
    with one_thread():
        numeric = [False] * X.shape[1]
        model = fit_time_ordered(X[:split], y[:split], numeric)
        model_metrics = evaluate(y[split:], model.predict_proba(X[split:])[:, 1])
        final = fit_time_ordered(X, y, numeric)  # the stored model learns from all history
    baseline = LogisticRegression().fit(np.log1p(engagement[:split]).reshape(-1, 1), y[:split])
    baseline_metrics = evaluate(
        y[split:], baseline.predict_proba(np.log1p(engagement[split:]).reshape(-1, 1))[:, 1])
    report = {
        "model": model_metrics.as_dict(), "engagement_alone": baseline_metrics.as_dict(),
        "n_train": int(split), "n_test": int(len(rows) - split),
        "positives_train": int(y[:split].sum()), "positives_test": int(y[split:].sum()),
    }
    record = save_model(final, source="crm", metrics=report, feature_names=feature_names(ruleset),
                        now=now, activate=True)
    report["version"] = record.version
    report["scored_contacts"] = apply_model(now, model=final, ruleset=ruleset, facts=facts)
    return report


def apply_model(now: datetime, *, model=None, ruleset: Ruleset | None = None, facts=None) -> int:
    """Store today's probability for every contact that has not converted yet (converted
    contacts keep no predictive part: the question is answered)."""
    if model is None:
        loaded = load_active_model()
        if loaded is None or loaded[0].source != "crm":
            return 0
        model = loaded[1]
        ruleset = ruleset or load_ruleset()
        if loaded[0].feature_names != feature_names(ruleset):
            return 0  # the rules changed since training: retrain before scoring
    ruleset = ruleset or load_ruleset()
    facts = facts if facts is not None else load_facts(ruleset)
    open_facts = [f for f in facts if not (f.converted_at and f.converted_at <= now)]
    if not open_facts:
        return 0
    X = np.array([features_at(f, now, ruleset)[0] for f in open_facts], dtype=float)
    with one_thread():
        probabilities = model.predict_proba(X)[:, 1]
    return store_predictions({f.contact_id: float(p) for f, p in zip(open_facts, probabilities)}, now)
