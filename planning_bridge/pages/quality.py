"""How good are the numbers: the calibration page (Brier score and reliability of stage
defaults against calibrated probabilities on a time-based holdout) and the accuracy page
(WMAPE, bias and forecast value added per family and lag)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _  # what crm.i18n's ``_`` is; the bridge reaches crm only by its port
from flask_login import current_user

from planning_bridge import services
from planning_bridge.api_schemas import as_of_in_range
from planning_bridge.contracts import (
    ACCURACY_FORECASTS,
    ACCURACY_ORIGINS,
    AccuracyCell,
    AccuracyReport,
)
from planning_bridge.crm_port import db, open_job, roles, utcnow
from planning_bridge.figures import FIGURES_JOB
from planning_bridge.pages import PLANNERS, bp
from planning_bridge.pages.charts import reliability_chart
from planning_bridge.pages.verdicts import (
    ALL_FAMILIES,
    accuracy_verdict,
    calibration_verdict,
    one_story,
    pipeline_verdict,
)


def _as_of_arg(name: str) -> tuple[date | None, str | None]:
    """The day to score as of, bounded as the API bounds it (``api_schemas.as_of_in_range``):
    a day years away would make the holdout run off the calendar or rebuild decades of
    history in one request. A bad day gets a message and today takes its place."""
    text = (request.args.get(name) or "").strip()
    if not text:
        return None, None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, f"“{text[:20]}” is not a date written as YYYY-MM-DD; using today."
    try:
        return as_of_in_range(day), None
    except ValueError as exc:
        return None, f"{day.isoformat()} is out of range ({exc}); using today."


@bp.route("/calibration")
@roles(*PLANNERS)
def calibration():
    """The stored calibration figures (the worker computes them): never a backtest per request."""
    as_of, error = _as_of_arg("as_of")
    stored = services.stored_calibration(as_of)
    reports = (stored.calibration or []) if stored else []
    usable = [report for report in reports if report.holdout_count]
    accuracy = services.stored_accuracy(lags=(1, 2, 3))
    return render_template(
        "planning/calibration.html", reports=reports, usable=usable, as_of=as_of, error=error, stored=stored,
        chart=reliability_chart(usable), charts=bool(usable), verdict=calibration_verdict(reports),
        job=open_job(FIGURES_JOB), story=one_story(
            accuracy.accuracy if accuracy and accuracy.accuracy else AccuracyReport((1, 2, 3), (), (), (), 0),
            reports, on_calibration_page=True),
    )


@bp.route("/figures", methods=["POST"])
@roles(*PLANNERS)
def compute_figures():
    """Ask the worker for fresh accuracy and calibration figures; follow it on its status page."""
    job = services.request_figures(current_user, utcnow())
    db.session.commit()
    flash(_("The figures are being computed in the background."), "success")
    return redirect(url_for("jobs.show_job", job_id=job.id), 303)


@dataclass
class AccuracyLine:
    """One family at one lag: each forecast's cell and the value added, for one table row."""

    family: str
    lag: int
    cells: dict[str, AccuracyCell] = field(default_factory=dict)
    value_added: dict[tuple[str, str], float | None] = field(default_factory=dict)

    @property
    def months(self) -> int:
        return max((cell.months for cell in self.cells.values()), default=0)


def accuracy_tables(report: AccuracyReport) -> dict[str, list[AccuracyLine]]:
    """Per origin ("snapshots", "rebuilt"), one line per family and lag; the pooled "ALL"
    family last."""
    lines: dict[tuple[str, str, int], AccuracyLine] = {}
    for cell in report.cells:
        line = lines.setdefault((cell.origin, cell.family, cell.lag), AccuracyLine(cell.family, cell.lag))
        line.cells[cell.forecast] = cell
    for value in report.value_added:
        line = lines.setdefault((value.origin, value.family, value.lag), AccuracyLine(value.family, value.lag))
        line.value_added[(value.candidate, value.reference)] = value.fva
    tables: dict[str, list[AccuracyLine]] = {}
    for (origin, family, lag), line in sorted(
            lines.items(), key=lambda item: (item[0][0], item[0][1] == ALL_FAMILIES, item[0][1], item[0][2])):
        tables.setdefault(origin, []).append(line)
    return {origin: tables[origin] for origin in ACCURACY_ORIGINS if origin in tables}


def value_added_columns(report: AccuracyReport) -> list[tuple[str, str]]:
    """The (candidate, reference) pairs the report has, the probability comparison first."""
    pairs = {(v.candidate, v.reference) for v in report.value_added}
    return sorted(pairs, key=lambda pair: (pair[1] != "stage", pair))


@bp.route("/accuracy")
@roles(*PLANNERS)
def accuracy():
    """The stored accuracy figures, with when they were computed: reading them is a query or
    two, where computing them rebuilds the pipeline as of every past month end."""
    stored = services.stored_accuracy(lags=(1, 2, 3))
    report = stored.accuracy if stored and stored.accuracy else AccuracyReport((1, 2, 3), (), (), (), 0)
    calibration = services.stored_calibration()
    return render_template(
        "planning/accuracy.html", report=report, tables=accuracy_tables(report), stored=stored,
        fva_columns=value_added_columns(report), forecasts=ACCURACY_FORECASTS,
        verdict=accuracy_verdict(report), pipeline_verdict=pipeline_verdict(report),
        choice=sorted((stored.choice or {}).values(), key=lambda c: c.family) if stored else [],
        story=one_story(report, (calibration.calibration or []) if calibration else []),
        job=open_job(FIGURES_JOB),
    )
