"""``flask --app wsgi planning ...``: imports, calibration report, export, snapshots, accuracy.
Each command parses its arguments, calls a service, commits, prints."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click
from flask.cli import AppGroup

from planning_bridge import crm_port, exports, services
from planning_bridge.api import about_rows, demand_csv
from planning_bridge.api_schemas import as_of_in_range, demand_out, period_in_range
from planning_bridge.contracts import PROBABILITY_SOURCES, ImportResult
from planning_bridge.exports import FREPPLE_CUSTOMER, FREPPLE_LOCATION, MAX_NAME
from planning_bridge.periods import resolve_range
from planning_bridge.sop.cli import COMMANDS as SOP_COMMANDS
from planning_bridge.supply.cli import COMMANDS as SUPPLY_COMMANDS

planning_cli = AppGroup("planning", help="Planning bridge: demand-plan input for S&OP.")
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
            click.echo(f"line {rejection.line}: {rejection.message}", err=True)
        raise click.ClickException(f"{len(result.rejected)} row(s) rejected; nothing was imported")
    crm_port.db.session.commit()
    replaced = f", {result.replaced} earlier row(s) replaced" if result.replaced else ""
    click.echo(f"imported {result.accepted} {result.kind} row(s){replaced}")


@planning_cli.command("import-deals")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_deals_command(file):
    """Import deals exported by another CRM (replaces the previous import)."""
    _report_import(services.import_deals_csv(file, now=crm_port.utcnow()))


@planning_cli.command("import-actuals")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_actuals_command(file):
    """Import actual orders per family and month (family,period,units,revenue)."""
    _report_import(services.import_actuals_csv(file, now=crm_port.utcnow()))


@planning_cli.command("calibrate")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Score as of this day.")
def calibrate_command(as_of):
    """Brier score and reliability table of stage and calibrated probabilities on a
    time-based holdout."""
    reports = services.calibration_reports(as_of=_day(as_of))
    for report in reports:
        click.echo(f"{report.source:<11} Brier {report.brier:.4f}  holdout from {report.holdout_from}: "
                   f"{report.holdout_count} observations of {report.holdout_deals} deals  [{report.method}]")
        if report.buckets:
            click.echo("    bucket       count  predicted  won")
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


@planning_cli.command("export")
@click.option("--from", "start", default=None, help="First month YYYY-MM (default: this month).")
@click.option("--to", "end", default=None, help="Last month YYYY-MM (default: 18 months on).")
@click.option("--probabilities", type=click.Choice(PROBABILITY_SOURCES), default="chosen")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "frepple", "xlsx"]), default="csv",
              help="csv/json: the API's columns; frepple: frePPLe's forecast plan list; xlsx: a "
                   "family x month sheet per measure (needs --output).")
@click.option("--location", default=FREPPLE_LOCATION, show_default=True, help="--format frepple: the location.")
@click.option("--customer", default=FREPPLE_CUSTOMER, show_default=True, help="--format frepple: the customer.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--slip-adjusted", is_flag=True)
@click.option("--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              help="File to write (default: stdout).")
def export_command(start, end, probabilities, fmt, location, customer, as_of, slip_adjusted, output):
    """The demand input, with the same columns as the API, or in frePPLe's or a spreadsheet's shape."""
    if fmt == "xlsx" and output == "-":
        raise click.BadParameter("an xlsx workbook is written to a file: give --output FILE.xlsx",
                                 param_hint="--output")
    for value, hint in ((location, "--location"), (customer, "--customer")):
        if not 0 < len(value) <= MAX_NAME:
            raise click.BadParameter(f"1 to {MAX_NAME} characters", param_hint=hint)
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
            handle.write(text)
    if rows.probability_source != probabilities:
        click.echo(f"note: {probabilities} fell back to {rows.probability_source}: "
                   f"{rows.probability_method}", err=True)


@planning_cli.command("snapshot")
@click.option("--from", "start", default=None)
@click.option("--to", "end", default=None)
@click.option("--probabilities", type=click.Choice(PROBABILITY_SOURCES), default="chosen")
@click.option("--slip-adjusted", is_flag=True, help="Time the pipeline with the learned slips.")
@click.option("--month-end", is_flag=True, help="Take the scheduled month-end snapshots instead.")
def snapshot_command(start, end, probabilities, slip_adjusted, month_end):
    """Freeze the demand input now (or the month-end pair the worker takes on the 1st)."""
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
    click.echo(f"snapshot(s) {', '.join(map(str, ids))}" if ids else "nothing to take: already there")


@planning_cli.command("figures")
def figures_command():
    """Compute and store the accuracy and calibration figures and each family's chosen source
    (what the month-end job does; the pages and the API read them)."""
    ids = services.compute_default_figures(crm_port.utcnow())
    crm_port.db.session.commit()
    choice, _computed = services.current_choice()
    click.echo(f"stored {len(ids)} set(s) of figures")
    for family, chosen in sorted(choice.items()):
        click.echo(f"{family:<8} {chosen.source:<10} {chosen.reason}")


@planning_cli.command("accuracy")
@click.option("--lags", default="1,2,3")
@click.option("--months", default=12, type=click.IntRange(1, 36))
@click.option("--slip-adjusted", is_flag=True, help="Time the pipeline with the learned slips.")
@click.option("--json", "as_json", is_flag=True)
def accuracy_command(lags, months, slip_adjusted, as_json):
    """WMAPE, bias and forecast value added per family and lag."""
    try:
        lag_list = tuple(int(part) for part in lags.split(","))
    except ValueError:
        raise click.BadParameter("comma-separated whole numbers", param_hint="--lags") from None
    report = services.accuracy_report(lags=lag_list, months=months, slip_adjusted=slip_adjusted)
    if as_json:
        json.dump(asdict(report), sys.stdout, indent=2, default=str)
        click.echo()
        return
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.months:
        click.echo(f"months {report.months[0]}..{report.months[-1]}, {report.snapshot_count} snapshot(s)")
    for cell in report.cells:
        wmape = "n/a" if cell.wmape is None else f"{cell.wmape:.3f}"
        bias = "n/a" if cell.bias is None else f"{cell.bias:+.3f}"
        click.echo(f"{cell.origin:<9} {cell.family:<8} lag {cell.lag}  {cell.forecast:<10} "
                   f"WMAPE {wmape:>6}  bias {bias:>7}  ({cell.months} months)")
    for added in report.value_added:
        if added.fva is not None:
            click.echo(f"{added.origin:<9} {added.family:<8} lag {added.lag}  FVA {added.candidate} over "
                       f"{added.reference}: {added.fva:+.3f}")
