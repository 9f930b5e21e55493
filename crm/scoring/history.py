"""Bootstrap the predictive model from a history file exported from another CRM.

One row per contact, rows in time order; one column is the outcome (yes/no, 1/0, true/false,
y/n); every other column is a feature, numeric when every non-empty value reads as a number,
else categorical (custom fields included: HubSpot's predictive score ignores them, ours does
not). Columns that look like identifiers (a different text value in almost every row, such as
an email address) are left out: they cannot generalise. The last 20% of rows is the holdout.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sklearn.preprocessing import OrdinalEncoder

from crm.errors import ValidationFailed
from crm.i18n import _
from crm.scoring.predictive import HOLDOUT_SHARE, check_labels, evaluate, one_thread, save_model
from crm.scoring.timeorder import (
    KINDS,
    Fitted,
    Ranker,
    brier,
    drift_report,
    expected_calibration_error,
    fit_time_ordered,
    reliability_table,
    shift_for_rate,
    sigmoid,
)

TRUE_VALUES = {"yes", "y", "1", "true", "t"}
FALSE_VALUES = {"no", "n", "0", "false", "f"}
MAX_CATEGORIES = 200
MIN_ROWS = 10
MAX_BYTES = 200 * 1024 * 1024


@dataclass
class Column:
    name: str
    numeric: bool


class HistoryModel:
    """Encoder + the time-ordered model over the file's columns (picklable as one object):
    the ranker is picked and calibrated on the most recent rows (``crm.scoring.timeorder``)."""

    def __init__(self, columns: list[Column]):
        self.columns = columns
        self.encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                      encoded_missing_value=-1, dtype=float)
        self.fitted: Fitted | None = None

    @property
    def categorical(self) -> list[bool]:
        return [not c.numeric for c in self.columns]

    def matrix(self, rows: list[dict[str, str]], fit: bool = False) -> np.ndarray:
        categorical = [c for c in self.columns if not c.numeric]
        out = np.full((len(rows), len(self.columns)), np.nan)
        if categorical:
            raw = np.array([[(row.get(c.name) or "").strip() or None for c in categorical] for row in rows],
                           dtype=object)
            encoded = self.encoder.fit_transform(raw) if fit else self.encoder.transform(raw)
        for j, column in enumerate(self.columns):
            if column.numeric:
                out[:, j] = [_number(row.get(column.name)) for row in rows]
            else:
                out[:, j] = encoded[:, categorical.index(column)]
        return out

    def fit(self, rows, y, kinds=KINDS):
        self.fitted = fit_time_ordered(self.matrix(rows, fit=True), np.asarray(y), self.categorical, kinds)
        return self

    def predict_proba(self, rows):
        assert self.fitted is not None
        return self.fitted.predict_proba(self.matrix(rows))


def _number(value) -> float:
    text = (value or "").strip()
    if not text:
        return np.nan
    try:
        number = float(text)
    except ValueError:
        return np.nan
    return number if np.isfinite(number) else np.nan


def _is_number(text: str) -> bool:
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False


def read_history(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_("the file is larger than %(MAX_BYTES)s MB", MAX_BYTES=MAX_BYTES // (1024 * 1024)))
    text = data.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ValidationFailed(_("the file is empty"), {"file": _("empty")})
    header_line = text.splitlines()[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = [row for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    if not rows:
        raise ValidationFailed(_("the file has a header but no rows"), {"file": _("no rows")})
    return header, rows


def parse_outcome(rows: list[dict[str, str]], outcome: str) -> np.ndarray:
    labels = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        value = (row.get(outcome) or "").strip().lower()
        if value in TRUE_VALUES:
            labels.append(1)
        elif value in FALSE_VALUES:
            labels.append(0)
        else:
            raise ValidationFailed(
                _("line %(number)s: outcome %(value)s is not yes/no, 1/0 or true/false",
                  number=number, value=f'{value!r}'), {"outcome": _("bad value")})
    return np.array(labels, dtype=int)


def detect_columns(header: list[str], rows: list[dict[str, str]], outcome: str) -> list[Column]:
    columns = []
    for name in header:
        if name == outcome or not name:
            continue
        values = [(row.get(name) or "").strip() for row in rows]
        present = [v for v in values if v]
        if not present:
            continue
        if all(_is_number(v) for v in present):
            columns.append(Column(name, numeric=True))
            continue
        distinct = len(set(present))
        if distinct > MAX_CATEGORIES or (len(present) >= 20 and distinct > 0.5 * len(present)):
            continue  # an identifier or free text
        columns.append(Column(name, numeric=False))
    if not columns:
        raise ValidationFailed(_("no usable feature column besides the outcome"), {"file": _("no features")})
    return columns


def train_from_csv(data: bytes, outcome: str, now: datetime, expected_rate: float | None = None) -> dict:
    """Train, evaluate on the last 20% of rows next to plain logistic regression on the same
    split and columns, store the model (refitted on every row); returns the report.

    ``expected_rate``: the success rate the user expects from now on, when it differs from the
    history's latest rows; the stored model's intercept is shifted to it (prior shift)."""
    if expected_rate is not None and not 0 < expected_rate < 1:
        raise ValidationFailed(_("the expected rate must lie strictly between 0 and 1"),
                               {"expected_rate": _("out of range")})
    rows, y, columns = prepare_history(data, outcome)
    report = compare_on_holdout(rows, y, columns)
    with one_thread():
        final = HistoryModel(columns).fit(rows, y)
    fitted = final.fitted
    assert fitted is not None
    if expected_rate is not None:
        fitted.calibration.shift = shift_for_rate(expected_rate, fitted.calibration.window_rate)
    report["stored"] = {"model": fitted.ranker.kind, "calibration": fitted.calibration.as_dict()}
    save_model(final, source="history", metrics=report, feature_names=[c.name for c in columns], now=now,
               activate=False)
    return report


def prepare_history(data: bytes, outcome: str) -> tuple[list[dict[str, str]], np.ndarray, list[Column]]:
    """The file's rows (in file order), outcomes and feature columns, or a clear error."""
    header, rows = read_history(data)
    if outcome not in header:
        raise ValidationFailed(_("no column %(outcome)s in the file (columns: %(value)s)",
                                 outcome=f'{outcome!r}', value=', '.join(header)),
                               {"outcome": _("missing column")})
    if len(rows) < MIN_ROWS:
        raise ValidationFailed(_("at least %(MIN_ROWS)s rows are needed, the file has %(value)s",
                                 MIN_ROWS=MIN_ROWS, value=len(rows)))
    y = parse_outcome(rows, outcome)
    columns = detect_columns(header, rows, outcome)
    split = holdout_start(len(rows))
    check_labels(y[:split], y[split:])
    if min(np.bincount(y[:split])) < 3:
        raise ValidationFailed(_("too few rows of the rarer outcome to train on (fewer than 3)"),
                               {"outcome": _("too few of one class")})
    return rows, y, columns


def holdout_start(n_rows: int) -> int:
    return int(round(n_rows * (1 - HOLDOUT_SHARE)))


def compare_on_holdout(rows, y, columns: list[Column]) -> dict:
    """Fit on the first 80% of rows, report on the last 20% (see ``holdout_report``)."""
    split = holdout_start(len(rows))
    with one_thread():
        model = HistoryModel(columns).fit(rows[:split], y[:split])
        report = holdout_report(model, rows[:split], y[:split], rows[split:], y[split:])
    return {**report, "n_train": split, "n_test": len(rows) - split}


def holdout_report(model: HistoryModel, train_rows, y_train, test_rows, y_test) -> dict:
    """Our model and plain logistic regression (one-hot categories, scaled numbers, the same
    rows and columns) on the holdout: AUC, lift, Brier, ECE; our reliability table; the drift."""
    assert model.fitted is not None
    p = model.predict_proba(test_rows)[:, 1]
    X_test = model.matrix(test_rows)
    plain_p = plain_logistic_probabilities(model, train_rows, y_train, X_test)
    return {
        **evaluate(y_test, p).as_dict(), "ece": round(expected_calibration_error(y_test, p), 4),
        "model": model.fitted.ranker.kind, "window_auc": model.fitted.window_auc,
        "calibration": model.fitted.calibration.as_dict(),
        "reliability": reliability_table(y_test, p),
        "drift": drift_report(model.fitted, X_test, y_test, y_train),
        "plain_logistic": {**evaluate(y_test, plain_p).as_dict(),
                           "ece": round(expected_calibration_error(y_test, plain_p), 4),
                           "brier": round(brier(y_test, plain_p), 4)},
    }


def plain_logistic_probabilities(model: HistoryModel, train_rows, y_train, X_test) -> np.ndarray:
    """The baseline: logistic regression on the training rows with its own probabilities
    (no recent-window calibration), over the same encoded columns."""
    ranker = Ranker("logistic", model.categorical).fit(model.matrix(train_rows), np.asarray(y_train))
    return sigmoid(ranker.logits(X_test))
