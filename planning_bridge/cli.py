"""``flask --app wsgi planning ...``: imports, calibration report, export, snapshots, accuracy.
Each command parses its arguments, calls a service, commits, prints, in the operator's language
(``OperatorLanguageGroup``); what is meant for programs (CSV, JSON) stays as it is."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from planning_bridge import crm_port, exports, services
from planning_bridge.api import about_rows, demand_csv
from planning_bridge.api_schemas import as_of_in_range, demand_out, period_in_range
from planning_bridge.contracts import PROBABILITY_SOURCES, ImportResult
from planning_bridge.crm_port import OperatorLanguageGroup, cli_option
from planning_bridge.exports import FREPPLE_CUSTOMER, FREPPLE_LOCATION, MAX_NAME
from planning_bridge.periods import resolve_range
from planning_bridge.sop.cli import COMMANDS as SOP_COMMANDS
from planning_bridge.supply.cli import COMMANDS as SUPPLY_COMMANDS

planning_cli = OperatorLanguageGroup("planning", help=_l("Planning bridge: demand-plan input for S&OP."))
for _command in SOP_COMMANDS:  # the S&OP cycle's commands (planning_bridge/sop/cli.py)
    planning_cli.add_command(_command)
for _command in SUPPLY_COMMANDS:  # supply scenarios (planning_bridge/supply/cli.py)
    planning_cli.add_command(_command)


def _fail(exc) -> None:
    details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}")


def _report_import(result: ImportResult) -> None:
    if result.rejected:
        crm_port.db.session.rollback()
        for rejection in result.rejected:
            click.echo(_("line %(line)s: %(message)s", line=rejection.line, message=rejection.message), err=True)
        raise click.ClickException(ngettext("%(num)s row rejected; nothing was imported",
                                            "%(num)s rows rejected; nothing was imported", len(result.rejected)))
    crm_port.db.session.commit()
    n = result.accepted
    if result.kind == "actuals":
        imported = ngettext("imported %(num)s actuals row", "imported %(num)s actuals rows", n)
    else:
        imported = ngettext("imported %(num)s deals row", "imported %(num)s deals rows", n)
    if result.replaced:
        imported += ngettext(", %(num)s earlier row replaced", ", %(num)s earlier rows replaced", result.replaced)
    click.echo(imported)


@planning_cli.command("import-deals", help=_l("Import deals exported by another CRM (replaces the previous import)."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_deals_command(file):
    _report_import(services.import_deals_csv(file, now=crm_port.utcnow()))


@planning_cli.command("import-actuals", help=_l(
    "Import actual orders per family and month (family,period,units,revenue)."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_actuals_command(file):
    _report_import(services.import_actuals_csv(file, now=crm_port.utcnow()))


@planning_cli.command("calibrate", help=_l(
    "Brier score and reliability table of stage and calibrated probabilities on a time-based holdout."))
@cli_option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None, help=_l("Score as of this day."))
def calibrate_command(as_of):
    reports = services.calibration_reports(as_of=_day(as_of))
    for report in reports:
        click.echo(_("%(source)s Brier %(brier)s  holdout from %(day)s: %(count)s observations of %(deals)s deals  "
                     "[%(method)s]", source=format(report.source, "<11"), brier=format(report.brier, ".4f"),
                     day=report.holdout_from, count=report.holdout_count, deals=report.holdout_deals,
                     method=report.method))
        if report.buckets:
            bucket, count, predicted, won = _("bucket"), _("count"), _("predicted"), _("won")
            click.echo(f"    {bucket:<9}{count:>9}  {predicted:>9}  {won}")
            for bucket in report.buckets:
                click.echo(f"    {bucket.lower:.1f}-{bucket.upper:.1f}  {bucket.count:>8}  "
                           f"{bucket.mean_predicted:>9.3f}  {bucket.actual_rate:.3f}")


def _range(start, end) -> tuple[str, str]:
    for value, hint in ((start, "--from"), (end, "--to")):
        if value:
            try:
                period_in_range(value)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint=hint) from None
    return resolve_range(start, end, crm_port.utcnow().date())


def _day(as_of):
    """The ``--as-of`` day, bounded as the API bounds it (history's first day to today)."""
    if as_of is None:
        return None
    try:
        return as_of_in_range(as_of.date())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None


@planning_cli.command("export", help=_l(
    "The demand input, with the same columns as the API, or in frePPLe's or a spreadsheet's shape."))
@cli_option("--from", "start", default=None, help=_l("First month YYYY-MM (default: this month)."))
@cli_option("--to", "end", default=None, help=_l("Last month YYYY-MM (default: 18 months on)."))
@click.option("--probabilities", type=click.Choice(PROBABILITY_SOURCES), default="chosen")
@cli_option("--format", "fmt", type=click.Choice(["csv", "json", "frepple", "xlsx"]), default="csv",
            help=_l("csv/json: the API's columns; frepple: frePPLe's forecast plan list; xlsx: a family x month "
                    "sheet per measure (needs --output)."))
@cli_option("--location", default=FREPPLE_LOCATION, show_default=True, help=_l("--format frepple: the location."))
@cli_option("--customer", default=FREPPLE_CUSTOMER, show_default=True, help=_l("--format frepple: the customer."))
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--slip-adjusted", is_flag=True)
@cli_option("--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
            help=_l("File to write (default: stdout)."))
def export_command(start, end, probabilities, fmt, location, customer, as_of, slip_adjusted, output):
    if fmt == "xlsx" and output == "-":
        raise click.BadParameter(_("an xlsx workbook is written to a file: give --output FILE.xlsx"),
                                 param_hint="--output")
    for value, hint in ((location, "--location"), (customer, "--customer")):
        if not 0 < len(value) <= MAX_NAME:
            raise click.BadParameter(_("1 to %(n)s characters", n=MAX_NAME), param_hint=hint)
    start, end = _range(start, end)
    try:
        rows = services.demand_input(start=start, end=end, probabilities=probabilities,
                                     as_of=_day(as_of), slip_adjusted=slip_adjusted)
    except crm_port.ServiceError as exc:
        _fail(exc)
    if fmt == "xlsx":
        with open(output, "wb") as handle:
            handle.write(exports.demand_xlsx(rows, about_rows(rows)))
    else:
        if fmt == "csv":
            text = demand_csv(rows)
        elif fmt == "frepple":
            text = exports.frepple_csv(rows, location=location, customer=customer)
        else:
            text = demand_out(rows).model_dump_json(indent=2) + "\n"
        with click.open_file(output, "w") as handle:
            handle.write(text)  # for programs: the columns and values as the API writes them
    if rows.probability_source != probabilities:
        click.echo(_("note: %(asked)s fell back to %(source)s: %(method)s", asked=probabilities,
                     source=rows.probability_source, method=rows.probability_method), err=True)


@planning_cli.command("snapshot", help=_l(
    "Freeze the demand input now (or the month-end pair the worker takes on the 1st)."))
@click.option("--from", "start", default=None)
@click.option("--to", "end", default=None)
@click.option("--probabilities", type=click.Choice(PROBABILITY_SOURCES), default="chosen")
@cli_option("--slip-adjusted", is_flag=True, help=_l("Time the pipeline with the learned slips."))
@cli_option("--month-end", is_flag=True, help=_l("Take the scheduled month-end snapshots instead."))
def snapshot_command(start, end, probabilities, slip_adjusted, month_end):
    now = crm_port.utcnow()
    try:
        if month_end:
            ids = services.take_month_end_snapshots(now)
        else:
            start, end = _range(start, end)
            ids = [services.take_snapshot(actor_id=None, now=now, start=start, end=end,
                                          probabilities=probabilities, slip_adjusted=slip_adjusted)]
        crm_port.db.session.commit()
    except crm_port.ServiceError as exc:
        crm_port.db.session.rollback()
        _fail(exc)
    click.echo(ngettext("snapshot %(ids)s", "snapshots %(ids)s", len(ids), ids=", ".join(map(str, ids))) if ids
               else _("nothing to take: already there"))


@planning_cli.command("figures", help=_l(
    "Compute and store the accuracy and calibration figures and each family's chosen source (what the "
    "month-end job does; the pages and the API read them)."))
def figures_command():
    ids = services.compute_default_figures(crm_port.utcnow())
    crm_port.db.session.commit()
    choice, _computed = services.current_choice()
    click.echo(ngettext("stored %(num)s set of figures", "stored %(num)s sets of figures", len(ids)))
    for family, chosen in sorted(choice.items()):
        click.echo(f"{family:<8} {chosen.source:<10} {chosen.reason}")


@planning_cli.command("accuracy", help=_l("WMAPE, bias and forecast value added per family and lag."))
@click.option("--lags", default="1,2,3")
@click.option("--months", default=12, type=click.IntRange(1, 36))
@cli_option("--slip-adjusted", is_flag=True, help=_l("Time the pipeline with the learned slips."))
@click.option("--json", "as_json", is_flag=True)
def accuracy_command(lags, months, slip_adjusted, as_json):
    try:
        lag_list = tuple(int(part) for part in lags.split(","))
    except ValueError:
        raise click.BadParameter(_("comma-separated whole numbers"), param_hint="--lags") from None
    report = services.accuracy_report(lags=lag_list, months=months, slip_adjusted=slip_adjusted)
    if as_json:  # for programs: never translated
        json.dump(asdict(report), sys.stdout, indent=2, default=str)
        click.echo()
        return
    for note in report.notes:
        click.echo(_("note: %(note)s", note=note))
    if report.months:
        click.echo(ngettext("months %(first)s..%(last)s, %(num)s snapshot",
                            "months %(first)s..%(last)s, %(num)s snapshots",
                            report.snapshot_count, first=report.months[0], last=report.months[-1]))
    for cell in report.cells:
        wmape = _("n/a") if cell.wmape is None else f"{cell.wmape:.3f}"
        bias = _("n/a") if cell.bias is None else f"{cell.bias:+.3f}"
        click.echo(_("%(origin)s %(family)s lag %(lag)s  %(forecast)s WMAPE %(wmape)s  bias %(bias)s  "
                     "(%(months)s months)", origin=format(cell.origin, "<9"), family=format(cell.family, "<8"),
                     lag=cell.lag, forecast=format(cell.forecast, "<10"), wmape=format(wmape, ">6"),
                     bias=format(bias, ">7"), months=cell.months))
    for added in report.value_added:
        if added.fva is not None:
            click.echo(_("%(origin)s %(family)s lag %(lag)s  FVA %(candidate)s over %(reference)s: %(fva)s",
                         origin=format(added.origin, "<9"), family=format(added.family, "<8"), lag=added.lag,
                         candidate=added.candidate, reference=added.reference, fva=format(added.fva, "+.3f")))
