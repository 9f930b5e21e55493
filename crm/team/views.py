"""The manager's team pages: activity per rep and week, pipeline by rep and stage, sequence and
template performance. Each page draws its chart on the server (``charts``) and offers the same
figures as CSV (``?format=csv``). Logic lives in ``services``; these only shape it."""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from crm.errors import ValidationFailed
from crm.i18n import _, _l
from crm.team import services
from crm.team.charts import Series, bar_chart
from crm.timeutil import utcnow
from crm.web.access import roles
from crm.web.formatting import money, nice_date

bp = Blueprint("team", __name__)

TEAM_ROLES = ("manager", "admin")
ACTIVITY_LABELS = {
    "emails_sent": _l("Emails sent"), "replies": _l("Replies"), "calls": _l("Calls"), "connects": _l("Connects"),
    "meetings": _l("Meetings booked"), "deals_moved": _l("Deals moved"), "won": _l("Won"),
}
PERFORMANCE_LABELS = {"sent": _l("Sent"), "opened": _l("Opened by people"), "clicked": _l("Clicked"),
                      "replied": _l("Replied"), "meetings": _l("Meetings booked")}


def _weeks() -> int:
    try:
        return services.parse_weeks(request.args.get("weeks"))
    except ValidationFailed as exc:
        abort(422, exc.fields["weeks"])


def _wants_csv() -> bool:
    fmt = request.args.get("format", "")
    if fmt not in ("", "html", "csv"):
        abort(422, "format: html or csv")
    return fmt == "csv"


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (names are user data)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(filename: str, header: list[str], rows) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(h) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _week_label(week: date) -> str:
    return nice_date(week)


@bp.route("/team")
@roles(*TEAM_ROLES)
def index():
    return redirect(url_for(".activity"))


@bp.route("/team/activity")
@roles(*TEAM_ROLES)
def activity():
    weeks = _weeks()
    want_csv = _wants_csv()
    report = services.activity_report(current_user, utcnow(), weeks)
    columns = services.ACTIVITY_COLUMNS
    if want_csv:
        return _csv("team-activity.csv", [_("Rep"), _("Week starting")] + [ACTIVITY_LABELS[c] for c in columns],
                    ([rep.name, week.isoformat()] + [report.cell(rep.id, week, c) for c in columns]
                     for rep in report.reps for week in report.weeks))
    chart = bar_chart("activity-chart", _("Calls and emails sent per week"),
                      [_week_label(w) for w in report.weeks],
                      [Series(str(ACTIVITY_LABELS[c]), [report.week_total(w, c) for w in report.weeks])
                       for c in ("calls", "connects", "emails_sent", "replies", "meetings")])
    rep_chart = bar_chart("activity-rep-chart", _("Activity per rep over the period"),
                          [rep.name for rep in report.reps],
                          [Series(str(ACTIVITY_LABELS[c]), [report.rep_total(r.id, c) for r in report.reps])
                           for c in ("calls", "connects", "emails_sent", "meetings", "won")])
    return render_template("team/activity.html", report=report, columns=columns, labels=ACTIVITY_LABELS,
                           weeks=weeks, chart=chart, rep_chart=rep_chart)


@bp.route("/team/pipeline")
@roles(*TEAM_ROLES)
def pipeline():
    want_csv = _wants_csv()
    report = services.pipeline_report(current_user)
    if want_csv:
        return _csv("team-pipeline.csv", [_("Rep"), _("Stage"), _("Open deals"), _("Currency"), _("Amount")],
                    ([rep.name, stage.name, report.counts.get((rep.id, stage.id), 0), currency, amount]
                     for rep in report.reps for stage in report.stages
                     for currency, amount in (sorted(report.amounts.get((rep.id, stage.id), {}).items())
                                              or [("", "")])))
    chart = bar_chart("pipeline-chart", _("Open deals per rep, by stage"), [rep.name for rep in report.reps],
                      [Series(stage.name, [report.counts.get((rep.id, stage.id), 0) for rep in report.reps])
                       for stage in report.stages], stacked=True)
    return render_template("team/pipeline.html", report=report, chart=chart, money=money)


@bp.route("/team/sequences")
@roles(*TEAM_ROLES)
def sequences():
    weeks = _weeks()
    want_csv = _wants_csv()
    now = utcnow()
    by_sequence = services.sequence_performance(current_user, now, weeks)
    by_template = services.template_performance(current_user, now, weeks)
    columns = services.PERFORMANCE_COLUMNS
    if want_csv:
        header = [_("Type"), _("Name"), _("Owner")] + [PERFORMANCE_LABELS[c] for c in columns]
        rows = [[_("Sequence"), p.name, p.owner] + [getattr(p, c) for c in columns] for p in by_sequence]
        rows += [[_("Template"), p.name, p.owner] + [getattr(p, c) for c in columns] for p in by_template]
        return _csv("team-sequences.csv", header, rows)
    chart = bar_chart("sequence-chart", _("Sequence results across the team"), [p.name for p in by_sequence],
                      [Series(str(PERFORMANCE_LABELS[c]), [getattr(p, c) for p in by_sequence]) for c in columns])
    template_chart = bar_chart("template-chart", _("Template results across the team"),
                               [p.name for p in by_template],
                               [Series(str(PERFORMANCE_LABELS[c]), [getattr(p, c) for p in by_template])
                                for c in columns])
    return render_template("team/sequences.html", by_sequence=by_sequence, by_template=by_template,
                           columns=columns, labels=PERFORMANCE_LABELS, weeks=weeks, chart=chart,
                           template_chart=template_chart)
