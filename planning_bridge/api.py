"""JSON (and CSV) routes under ``/api/v1/planning``, declared in ``routes`` and mounted on the
CRM's API by the manifest (``planning_bridge.api:routes``): token-authenticated, described in
the OpenAPI document, planners and admins only (sales managers steer by the CRM's own pipeline
views; the demand plan is planning's).

Thin callers of ``planning_bridge.services``: parse, call, commit, answer. Request and answer
shapes are in ``api_schemas.py``.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict

from flask import Response, request, url_for
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import ngettext

from planning_bridge import crm_port, exports, services
from planning_bridge.api_schemas import (
    AccuracyQuery,
    ActualsQuery,
    CalibrationQuery,
    ContributionQuery,
    DemandQuery,
    FamilySettingIn,
    FiguresIn,
    OutlierIn,
    PlanningAccuracyOut,
    PlanningActualsOut,
    PlanningCalibrationOut,
    PlanningCalibrationReportOut,
    PlanningContributionOut,
    PlanningContributionsOut,
    PlanningDemandOut,
    PlanningFamilySettingOut,
    PlanningFamilySettingsOut,
    PlanningFiguresJobOut,
    PlanningImportOut,
    PlanningOutlierOut,
    PlanningOutliersOut,
    PlanningSnapshotOut,
    PlanningSnapshotRowsOut,
    PlanningSnapshotsOut,
    PlanningSourceChoiceOut,
    SnapshotIn,
    SnapshotQuery,
    demand_out,
    row_out,
)
from planning_bridge.contracts import DEMAND_COLUMNS, ImportResult
from planning_bridge.imports import MAX_BYTES

routes = crm_port.ApiRoutes()
endpoint, roles = crm_port.endpoint, crm_port.roles
PLANNERS = ("planner", "admin")
MAX_REPORTED_REJECTIONS = 1000
NOT_COMPUTED = ("not computed yet for these parameters: the worker computes them at each month end, "
                "or ask for them with POST /api/v1/planning/figures")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_BODIES = ("text/csv", "text/plain", "application/csv")  # what ``_uploaded`` reads raw


# --- demand input -------------------------------------------------------------------------

@routes.get("/planning/demand-input")
@roles(*PLANNERS)
@endpoint(
    "Demand-plan input per product family and month", query=DemandQuery, response=PlanningDemandOut,
    description="Live computation (snapshot_id empty). `format=csv` answers text/csv with exactly "
                "the columns " + ",".join(DEMAND_COLUMNS) + ". weighted_revenue is in the base currency "
                "(the `currency` column), each deal converted at the rate of its expected close month; "
                "open deals in a currency without a rate are a 409 unless allow_missing_rates=true. "
                "`format=frepple` text/csv in frePPLe's "
                "forecast plan list format (upload it on frePPLe's forecast report or editor); "
                "`format=xlsx` a workbook with one family × month sheet per measure. "
                + services.COMBINE_RULE_DOC,
    extra_statuses=(409,),
    alternatives=("text/csv", XLSX),
)
def demand_input(query: DemandQuery):
    if not query.allow_missing_rates:
        refuse_missing_rates()
    start, end = query.months()
    rows = services.demand_input(
        start=start, end=end, probabilities=query.probabilities, as_of=query.as_of,
        slip_adjusted=query.slip_adjusted, families=query.family_list(),
    )
    if query.format == "csv":
        return csv_response(rows, f"demand-input-{start}-{end}.csv", rows.probability_source)
    if query.format == "frepple":
        text = exports.frepple_csv(rows, location=query.location, customer=query.customer)
        return download(text, "text/csv", f"forecastplan-{start}-{end}.csv", rows.probability_source)
    if query.format == "xlsx":
        return download(exports.demand_xlsx(rows, about_rows(rows)), XLSX, f"demand-input-{start}-{end}.xlsx",
                        rows.probability_source)
    return demand_out(rows)


def about_rows(rows) -> dict[str, str]:
    """What the xlsx's "About" sheet says about how the numbers were made."""
    return {
        "as of": rows.as_of.isoformat(), "probabilities asked": rows.probabilities,
        "probabilities used": rows.probability_source, "method": rows.probability_method,
        "model version": rows.model_version, "slip-adjusted": "yes" if rows.slip_adjusted else "no",
        "baseline": getattr(rows, "baseline_note", ""),
    }


@routes.get("/planning/demand-input/contributions")
@roles(*PLANNERS)
@endpoint("The deals behind one family and month of the demand input", query=ContributionQuery,
          response=PlanningContributionsOut)
def demand_contributions(query: ContributionQuery):
    items = services.demand_contributions(
        family=query.family, period=query.period, probabilities=query.probabilities,
        as_of=query.as_of, slip_adjusted=query.slip_adjusted,
    )
    return PlanningContributionsOut(items=[PlanningContributionOut(**asdict(item)) for item in items])


@routes.get("/planning/actuals")
@roles(*PLANNERS)
@endpoint("Actual units per family and month (imported, or won deals' lines)", query=ActualsQuery,
          response=PlanningActualsOut)
def actuals(query: ActualsQuery):
    return PlanningActualsOut(families=services.actuals_by_family(query.from_, query.to))


# --- imports ------------------------------------------------------------------------------

def _uploaded() -> bytes:
    """The CSV from a multipart field ``file``, or the raw body sent as text/csv."""
    if (request.content_length or 0) > MAX_BYTES + 64 * 1024:
        raise crm_port.ValidationFailed(_("file too large"), {"file": _("at most %(mb)s MB", mb=MAX_BYTES // 2**20)})
    upload = request.files.get("file")
    if upload is not None:
        return upload.stream.read(MAX_BYTES + 1)
    if request.mimetype in ("text/csv", "text/plain", "application/csv"):
        return request.get_data()
    raise crm_port.ValidationFailed(
        _("send the CSV as a multipart field 'file' or as a text/csv body"), {"file": _("required")})


def _import_answer(result: ImportResult) -> PlanningImportOut:
    if result.rejected:
        fields = {f"line {r.line}": r.message for r in result.rejected[:MAX_REPORTED_REJECTIONS]}
        extra = len(result.rejected) - MAX_REPORTED_REJECTIONS
        if extra > 0:
            fields["more"] = ngettext("%(num)s more row rejected (the CLI lists them all)",
                                  "%(num)s more rows rejected (the CLI lists them all)", extra)
        raise crm_port.ValidationFailed(ngettext("%(num)s row rejected; nothing was imported",
                                                 "%(num)s rows rejected; nothing was imported",
                                                 len(result.rejected)), fields)
    crm_port.db.session.commit()
    return PlanningImportOut(kind=result.kind, rows=result.rows, accepted=result.accepted,
                             replaced=result.replaced)


@routes.post("/planning/imports/deals")
@roles(*PLANNERS)
@endpoint("Import deals exported by another CRM (CSV; replaces the previous import)",
          response=PlanningImportOut, files=("file",), raw_body=CSV_BODIES,
          description="Multipart field `file`, or the CSV as a `text/csv` body. Columns: deal_id,"
                      "family,quantity,amount,stage,created_on,expected_close,closed_on,won "
                      "[,probability]. Any bad row rejects the whole file (422, `fields` names "
                      "each bad line).")
def import_deals():
    return _import_answer(services.import_deals_csv(_uploaded(), now=crm_port.utcnow()))


@routes.post("/planning/imports/actuals")
@roles(*PLANNERS)
@endpoint("Import actual orders per family and month (CSV)", response=PlanningImportOut, files=("file",),
          raw_body=CSV_BODIES,
          description="Multipart field `file`, or a `text/csv` body. Columns: family,period,units,"
                      "revenue; period YYYY-MM. Each row replaces its family-month. Any bad row "
                      "rejects the whole file (422, `fields` names each bad line).")
def import_actuals():
    return _import_answer(services.import_actuals_csv(_uploaded(), now=crm_port.utcnow()))


# --- snapshots ----------------------------------------------------------------------------

@routes.get("/planning/snapshots")
@roles(*PLANNERS)
@endpoint("Snapshots of the demand input, newest first", response=PlanningSnapshotsOut)
def list_snapshots():
    return PlanningSnapshotsOut(items=[PlanningSnapshotOut(**asdict(s)) for s in services.list_snapshots()])


@routes.post("/planning/snapshots")
@roles(*PLANNERS)
@endpoint("Take a snapshot of the demand input now", body=SnapshotIn, response=PlanningSnapshotOut,
          status=201)
def create_snapshot(body: SnapshotIn):
    start, end = body.months()
    snapshot_id = services.take_snapshot(
        actor_id=crm_port.api_user().id, now=crm_port.utcnow(), start=start, end=end,
        probabilities=body.probabilities, slip_adjusted=body.slip_adjusted,
    )
    crm_port.db.session.commit()
    return PlanningSnapshotOut(**asdict(services.get_snapshot(snapshot_id)))


@routes.get("/planning/snapshots/<int:snapshot_id>")
@roles(*PLANNERS)
@endpoint("One snapshot with its rows (format=csv: the demand-input columns)", query=SnapshotQuery,
          response=PlanningSnapshotRowsOut, alternatives=("text/csv",))
def get_snapshot(snapshot_id: int, query: SnapshotQuery):
    info = services.get_snapshot(snapshot_id)
    rows = services.snapshot_rows(snapshot_id)
    if query.format == "csv":
        return csv_response(rows, f"snapshot-{snapshot_id}.csv", info.probabilities_used)
    return PlanningSnapshotRowsOut(snapshot=PlanningSnapshotOut(**asdict(info)), columns=list(DEMAND_COLUMNS),
                                   rows=[row_out(r) for r in rows],
                                   source_choice=[PlanningSourceChoiceOut.of(c) for c in
                                                  services.snapshot_source_choice(snapshot_id).values()])


# --- quality ------------------------------------------------------------------------------

@routes.get("/planning/calibration")
@roles(*PLANNERS)
@endpoint("Brier score, reliability and calibration error of the probability sources (time-based holdout), "
          "as the worker last computed them", query=CalibrationQuery, response=PlanningCalibrationOut,
          description="Reads stored figures (computed at each month end, or on `POST /planning/figures`): "
                      "fast whatever the history. `as_of`: the figures stored as of that day; none stored: "
                      "`reports` empty and a note.")
def calibration(query: CalibrationQuery):
    stored = services.stored_calibration(query.as_of)
    if stored is None:
        return PlanningCalibrationOut(reports=[], notes=[NOT_COMPUTED])
    return PlanningCalibrationOut(
        reports=[PlanningCalibrationReportOut(**asdict(r)) for r in stored.calibration or []],
        as_of=stored.as_of, computed_at=stored.computed_at, seconds=stored.seconds)


@routes.get("/planning/accuracy")
@roles(*PLANNERS)
@endpoint("Forecast accuracy per family and lag: WMAPE, bias, value added, and each family's chosen source",
          query=AccuracyQuery, response=PlanningAccuracyOut,
          description="Reads the figures the worker stored for these parameters (at each month end for the "
                      "defaults, or on `POST /planning/figures`); none stored: empty lists and a note.")
def accuracy(query: AccuracyQuery):
    stored = services.stored_accuracy(lags=query.lag_list(), months=query.months, slip_adjusted=query.slip_adjusted)
    if stored is None or stored.accuracy is None:
        return PlanningAccuracyOut(lags=sorted(set(query.lag_list())), cells=[], value_added=[], months=[],
                                   snapshot_count=0, notes=[NOT_COMPUTED])
    return PlanningAccuracyOut(
        **asdict(stored.accuracy), as_of=stored.as_of, computed_at=stored.computed_at, seconds=stored.seconds,
        choice=[PlanningSourceChoiceOut.of(c) for c in (stored.choice or {}).values()])


@routes.post("/planning/figures")
@roles(*PLANNERS)
@endpoint("Compute the accuracy and calibration figures in the worker (one job at a time)", body=FiguresIn,
          response=PlanningFiguresJobOut, status=202,
          description="Queues the backtest (or answers the job already queued or running); follow "
                      "`status_url`. The figures then appear on GET /planning/accuracy and /planning/calibration.")
def request_figures(body: FiguresIn):
    job = services.request_figures(crm_port.api_user(), crm_port.utcnow(), lags=body.lags, months=body.months,
                                   slip_adjusted=body.slip_adjusted)
    crm_port.db.session.commit()
    return PlanningFiguresJobOut(job_id=job.id, status=job.status, status_url=url_for("jobs.show_job", job_id=job.id))


# --- settings and outliers ------------------------------------------------------------------

@routes.get("/planning/families")
@roles(*PLANNERS)
@endpoint("Each product family's planning settings (combine rule, commit stage)",
          response=PlanningFamilySettingsOut, description=services.COMBINE_RULE_DOC)
def family_settings():
    return PlanningFamilySettingsOut(items=[PlanningFamilySettingOut(**asdict(s)) for s in services.family_settings()])


@routes.put("/planning/families/<code>")
@roles(*PLANNERS)
@endpoint("Set a family's combine rule and commit stage", body=FamilySettingIn,
          response=PlanningFamilySettingOut)
def save_family_setting(code: str, body: FamilySettingIn):
    setting = services.save_family_setting(
        crm_port.api_user(), code, body.combine_rule, body.commit_stage, now=crm_port.utcnow())
    crm_port.db.session.commit()
    return PlanningFamilySettingOut(**asdict(setting))


@routes.get("/planning/families/<code>/outliers")
@roles(*PLANNERS)
@endpoint("A family's months flagged as outliers or decided on", response=PlanningOutliersOut)
def list_outliers(code: str):
    return PlanningOutliersOut(items=[PlanningOutlierOut(**asdict(f)) for f in services.list_outliers(code)])


@routes.post("/planning/families/<code>/outliers")
@roles(*PLANNERS)
@endpoint("Decide on one month of a family's actuals: accept the outlier flag or keep the actual "
          "(the original is kept either way)", body=OutlierIn, response=PlanningOutlierOut)
def decide_outlier(code: str, body: OutlierIn):
    flag = services.set_outlier_override(
        crm_port.api_user(), code, body.period, body.accepted, body.value, crm_port.utcnow())
    crm_port.db.session.commit()
    if flag is None:  # decided on a month outside the history the list shows
        raise crm_port.NotFound(_("no such month in the family's actuals"))
    return PlanningOutlierOut(**asdict(flag))


# --- CSV ----------------------------------------------------------------------------------

def refuse_missing_rates() -> None:
    """409 when open deals have no exchange rate into the base currency: their revenue would
    silently count 0."""
    gaps = crm_port.missing_exchange_rates(open_only=True)
    if gaps:
        listed = ", ".join(f"{gap.currency} for {gap.day:%Y-%m} ({gap.deals} deals)" for gap in gaps[:10])
        raise crm_port.Conflict(
            _("no exchange rate into %(base)s for %(listed)s: add the rates, or ask with "
              "allow_missing_rates=true (their revenue then counts 0)",
              base=crm_port.base_currency_code(), listed=listed),
            {"currency": ", ".join(sorted({gap.currency for gap in gaps}))})


def csv_response(rows, filename: str, source: str) -> Response:
    return download(demand_csv(rows), "text/csv", filename, source)


def download(content, mimetype: str, filename: str, source: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Probability-Source"] = source
    return response


def demand_csv(rows) -> str:
    """The rows with exactly ``DEMAND_COLUMNS``; ``snapshot_id`` empty for live rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DEMAND_COLUMNS)
    for row in rows:
        writer.writerow([csv_value(getattr(row, column)) for column in DEMAND_COLUMNS])
    return out.getvalue()


def csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    return str(value)
