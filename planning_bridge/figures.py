"""Accuracy and calibration figures, computed in the worker and stored; pages and the API read
them. A backtest rebuilds the pipeline as of many past month ends (seconds to minutes on a
real CRM, 28 s on the demo company): no request may spend that (issue #23), so:

* at each month end the worker computes the default figures (``compute_default_figures``,
  the job ``planning-month-end-figures``), which also re-choose each family's probability
  source (``source_choice.py``);
* a planner can ask for them again, or for other parameters, and the worker computes them
  (``FIGURES_KIND``, with its progress on the job's status page);
* ``stored_accuracy`` / ``stored_calibration`` / ``current_choice`` read what was stored, with
  when it was computed and how long it took; with nothing stored yet they say so.

The figures are stored as the JSON of the reports (``contracts.py``), one row per kind,
parameters (``key``) and as-of day.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from planning_bridge import crm_port
from planning_bridge.accuracy import DEFAULT_MONTHS, accuracy_report
from planning_bridge.calibration import calibration_reports
from planning_bridge.contracts import (
    AccuracyCell,
    AccuracyReport,
    CalibrationReport,
    ReliabilityBucket,
    ValueAdded,
)
from planning_bridge.models import StoredFigures
from planning_bridge.source_choice import DEFAULT_KEY, SourceChoice, choose_sources

ACCURACY, CALIBRATION = "accuracy", "calibration"
DEFAULT_LAGS = (1, 2, 3)
CALIBRATION_KEY = "holdout"
FIGURES_JOB = "planning.figures"


def accuracy_key(lags, months: int, slip_adjusted: bool) -> str:
    lag_text = ",".join(str(lag) for lag in sorted({int(lag) for lag in lags}))
    return f"lags={lag_text};months={int(months)};slip={int(bool(slip_adjusted))}"


DEFAULT_ACCURACY_KEY = accuracy_key(DEFAULT_LAGS, DEFAULT_MONTHS, False)
assert DEFAULT_ACCURACY_KEY == DEFAULT_KEY  # source_choice reads the choice under this key


@dataclass(frozen=True)
class Stored:
    """Stored figures and when they were made."""

    as_of: date
    computed_at: datetime
    seconds: float
    accuracy: AccuracyReport | None = None
    calibration: list[CalibrationReport] | None = None
    choice: dict[str, SourceChoice] | None = None


# --- computing (the worker) ---------------------------------------------------------------

def compute_accuracy(*, now: datetime, lags=DEFAULT_LAGS, months: int = DEFAULT_MONTHS,
                     slip_adjusted: bool = False, calibration: list[CalibrationReport] | None = None) -> StoredFigures:
    """Score the backtest as of ``now``'s day, choose each family's source from it, store both."""
    started = time.perf_counter()
    report = accuracy_report(lags=lags, months=months, as_of=now.date(), slip_adjusted=slip_adjusted)
    families = [f.code for f in crm_port.product_families()]
    if calibration is None:
        found = stored_calibration()
        calibration = found.calibration if found else None
    choice = choose_sources(report, calibration, families)
    payload = {"report": _plain(asdict(report)), "choice": {f: c.stored() for f, c in choice.items()}}
    return _store(ACCURACY, accuracy_key(report.lags, months, slip_adjusted), now.date(), payload, now,
                  time.perf_counter() - started)


def compute_calibration(*, now: datetime, as_of: date | None = None) -> StoredFigures:
    started = time.perf_counter()
    day = as_of or now.date()
    reports = calibration_reports(as_of=day)
    return _store(CALIBRATION, CALIBRATION_KEY, day, {"reports": _plain([asdict(r) for r in reports])}, now,
                  time.perf_counter() - started)


def compute_default_figures(now: datetime) -> list[int]:
    """Calibration, then accuracy and the source choice (which reads the calibration's error),
    as of ``now``'s day and, when that is the 1st, the month end just closed."""
    stored = []
    calibration = compute_calibration(now=now)
    stored.append(calibration.id)
    if now.day == 1:
        stored.append(compute_calibration(now=now, as_of=now.date() - timedelta(days=1)).id)
    reports = [_calibration_report(r) for r in calibration.payload["reports"]]
    stored.append(compute_accuracy(now=now, calibration=reports).id)
    return stored


def _store(kind: str, key: str, as_of: date, payload: dict, now: datetime, seconds: float) -> StoredFigures:
    session = crm_port.db.session
    row = session.scalar(select(StoredFigures).where(
        StoredFigures.kind == kind, StoredFigures.key == key, StoredFigures.as_of == as_of))
    if row is None:
        row = StoredFigures(kind=kind, key=key, as_of=as_of)
        session.add(row)
    row.payload, row.computed_at, row.seconds = payload, now, round(seconds, 3)
    session.flush()
    return row


def _plain(value):
    """JSON-ready: dates as ISO text, tuples as lists."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else str(v)))


# --- reading (pages, API, demand input) -----------------------------------------------------

def _latest(kind: str, key: str, as_of: date | None = None) -> StoredFigures | None:
    query = select(StoredFigures).where(StoredFigures.kind == kind, StoredFigures.key == key)
    if as_of is not None:
        query = query.where(StoredFigures.as_of == as_of)
    return crm_port.db.session.scalar(
        query.order_by(StoredFigures.as_of.desc(), StoredFigures.computed_at.desc()).limit(1))


def stored_accuracy(*, lags=DEFAULT_LAGS, months: int = DEFAULT_MONTHS, slip_adjusted: bool = False) -> Stored | None:
    """The latest accuracy figures stored for these parameters (one query), or None."""
    row = _latest(ACCURACY, accuracy_key(lags, months, slip_adjusted))
    if row is None:
        return None
    return Stored(row.as_of, row.computed_at, row.seconds, accuracy=_accuracy_report(row.payload["report"]),
                  choice=_choice(row.payload.get("choice") or {}))


def stored_calibration(as_of: date | None = None) -> Stored | None:
    """The calibration stored as of ``as_of`` (default: the latest), or None."""
    row = _latest(CALIBRATION, CALIBRATION_KEY, as_of)
    if row is None:
        return None
    return Stored(row.as_of, row.computed_at, row.seconds,
                  calibration=[_calibration_report(r) for r in row.payload["reports"]])


def _choice(raw: dict) -> dict[str, SourceChoice]:
    """Each family's stored choice; figures stored before the reason was kept as data carry an
    English sentence instead (``SourceChoice.from_stored`` reads both)."""
    return {family: SourceChoice.from_stored(value) for family, value in raw.items()}


def _accuracy_report(raw: dict) -> AccuracyReport:
    return AccuracyReport(
        lags=tuple(raw["lags"]), cells=tuple(AccuracyCell(**c) for c in raw["cells"]),
        value_added=tuple(ValueAdded(**v) for v in raw["value_added"]), months=tuple(raw["months"]),
        snapshot_count=raw["snapshot_count"], notes=tuple(raw.get("notes") or ()),
    )


def _calibration_report(raw: dict) -> CalibrationReport:
    values = dict(raw)
    values["buckets"] = tuple(ReliabilityBucket(**b) for b in raw["buckets"])
    for name in ("holdout_from", "holdout_until"):
        if values.get(name):
            values[name] = date.fromisoformat(values[name])
    return CalibrationReport(**values)


# --- asking the worker ----------------------------------------------------------------------

def request_figures(actor, now: datetime, *, lags=DEFAULT_LAGS, months: int = DEFAULT_MONTHS,
                    slip_adjusted: bool = False):
    """Queue the worker's computation (or return the one already queued or running: one at a
    time). Flushes; the caller commits."""
    job = crm_port.open_job(FIGURES_JOB)
    if job is None:
        job = crm_port.enqueue(FIGURES_JOB, actor, {
            "lags": sorted({int(lag) for lag in lags}), "months": int(months), "slip_adjusted": bool(slip_adjusted),
        }, now, total=2)
    return job


def run_figures_job(run) -> None:
    """The worker's side of ``request_figures``: calibration first (the choice reads its error),
    then the accuracy backtest, each step a checkpoint the status page shows."""
    params = dict(run.job.params or {})
    now = run.now()
    run.begin_chunk()
    calibration = compute_calibration(now=now)
    run.checkpoint(done=1, total=2)
    run.begin_chunk()
    reports = [_calibration_report(r) for r in calibration.payload["reports"]]
    stored = compute_accuracy(now=now, lags=tuple(params.get("lags") or DEFAULT_LAGS),
                              months=int(params.get("months") or DEFAULT_MONTHS),
                              slip_adjusted=bool(params.get("slip_adjusted")), calibration=reports)
    run.checkpoint(done=2, total=2, result={"accuracy_seconds": stored.seconds,
                                            "calibration_seconds": calibration.seconds})


FIGURES_KIND = crm_port.JobKind(
    name=FIGURES_JOB, run=run_figures_job, title="Computing the planning accuracy and calibration figures",
    back_endpoint="planning.accuracy",
)
