"""Benchmark: the lead model bootstrapped from a history file against plain logistic
regression, on real telemarketing histories whose success rate drifts over time.

    .venv/bin/python bench/lead_model_real.py [FILE.csv[.gz] OUTCOME ...]

Without arguments it runs on the vendored UCI Bank Marketing histories
(tests/fixtures/bank_marketing/, CC BY 4.0, Moro, Cortez & Rita 2014). For each file: the
first 80% of rows (file order = time order) train, the last 20% are the holdout, and it
prints, on the same split and columns:

- "ours": ``crm.scoring.history`` as shipped (ranker picked and calibrated on the most recent
  window of the training rows);
- "plain LR": logistic regression on one-hot categories and scaled numbers, its own
  probabilities;
- "before": what the model was before issue 18 (boosted trees inside
  ``CalibratedClassifierCV(sigmoid, cv=3)``), for the record;

each with AUC, Brier and expected calibration error (ECE, 10 bins), then the base rates and
the Brier score had the holdout's rate been known (prior shift corrected).
"""
from __future__ import annotations

import gzip
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402

from crm.scoring.history import HistoryModel, compare_on_holdout, holdout_start, prepare_history  # noqa: E402
from crm.scoring.predictive import evaluate, one_thread  # noqa: E402
from crm.scoring.timeorder import expected_calibration_error  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "bank_marketing"
DEFAULT = [(FIXTURES / "bank-full.csv.gz", "y"), (FIXTURES / "bank-additional-full-reduced.csv.gz", "y")]


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def before_issue_18(rows, y, columns) -> dict:
    """The old model: the same encoding, boosted trees calibrated by 3 exchangeable folds."""
    split = holdout_start(len(rows))
    encoding = HistoryModel(columns)
    X_train, X_test = encoding.matrix(rows[:split], fit=True), encoding.matrix(rows[split:])
    booster = HistGradientBoostingClassifier(
        max_iter=60, learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0,
        categorical_features=encoding.categorical if any(encoding.categorical) else None, random_state=7)
    with one_thread():
        p = CalibratedClassifierCV(booster, method="sigmoid", cv=3).fit(X_train, y[:split]).predict_proba(X_test)[:, 1]
    return {**evaluate(y[split:], p).as_dict(), "ece": round(expected_calibration_error(y[split:], p), 4)}


def run(path: Path, outcome: str) -> None:
    rows, y, columns = prepare_history(read(path), outcome)
    started = time.perf_counter()
    report = compare_on_holdout(rows, y, columns)
    seconds = time.perf_counter() - started
    before = before_issue_18(rows, y, columns)
    print(f"\n{path.name}: {len(rows):,} rows, {len(columns)} feature columns, holdout = last {report['n_test']:,} "
          f"rows; model picked: {report['model']} (window AUC {report['window_auc']}); fit+report {seconds:.1f} s")
    print(f"{'':22}{'AUC':>8}{'Brier':>9}{'ECE':>8}")
    for name, m in (("ours", report), ("plain LR", report["plain_logistic"]), ("before (issue 18)", before)):
        print(f"{name:22}{m['auc']:>8.3f}{m['brier']:>9.4f}{m['ece']:>8.4f}")
    plain = report["plain_logistic"]
    print(f"ours - plain LR: AUC {report['auc'] - plain['auc']:+.4f}, Brier {report['brier'] - plain['brier']:+.4f}, "
          f"ECE {report['ece'] - plain['ece']:+.4f}")
    d = report["drift"]
    print(f"success rate: training {d['training_rate']:.1%}, calibration window {d['window_rate']:.1%}, "
          f"holdout {d['holdout_rate']:.1%}, predicted on the holdout {d['predicted_holdout_rate']:.1%}; "
          f"at the known holdout rate: Brier {d['brier_at_known_rate']:.4f}, ECE {d['ece_at_known_rate']:.4f}")
    print("reliability (holdout): " + "  ".join(
        f"[{r['from']:.1f},{r['to']:.1f}) n={r['rows']} p={r['predicted']:.2f} obs={r['observed']:.2f}"
        for r in report["reliability"]))


def main(argv: list[str]) -> None:
    pairs = [(Path(argv[i]), argv[i + 1]) for i in range(0, len(argv) - 1, 2)] if argv else DEFAULT
    for path, outcome in pairs:
        run(path, outcome)


if __name__ == "__main__":
    main(sys.argv[1:])
