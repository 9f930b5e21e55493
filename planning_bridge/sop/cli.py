"""``flask --app wsgi planning cycle open|status|publish`` and ``planning import-plan`` /
``planning import-business-plan``: added to the bridge's ``planning`` group
(``planning_bridge/cli.py``). The command line acts as an administrator (whoever runs it has
the server); each command parses, calls a service, commits, prints."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from planning_bridge import crm_port
from planning_bridge.crm_port import cli_option
from planning_bridge.periods import month_index, period_text
from planning_bridge.sop import services

CLI_ACTOR = services.Actor(id=None, role="admin")
cycle_cli = AppGroup("cycle", help=_l("The monthly S&OP cycle: open, status, publish."))


def _fail(exc: crm_port.ServiceError) -> None:
    crm_port.db.session.rollback()
    details = "; ".join(f"{k}: {v}" for k, v in (exc.fields or {}).items())
    raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}")


def _last_month() -> str:
    return period_text(month_index(crm_port.utcnow().date()) - 1)


@cycle_cli.command("open", help=_l("Open a month's cycle and gather its data (snapshot, accuracy, actuals)."))
@cli_option("--month", default=None, help=_l("YYYY-MM (default: the month just ended)"))
def open_command(month):
    try:
        cycle = services.open_cycle(CLI_ACTOR, month or _last_month(), crm_port.utcnow())
    except crm_port.ServiceError as exc:
        _fail(exc)
    crm_port.db.session.commit()
    periods = services.horizon_periods(cycle)
    click.echo(_("cycle %(month)s opened: snapshot #%(snapshot)s, plan months %(first)s to %(last)s",
                 month=cycle.month, snapshot=cycle.snapshot_id, first=periods[0], last=periods[-1]))


@cycle_cli.command("status", help=_l("Each step's owner, due day and status, and the plan versions."))
@cli_option("--month", default=None, help=_l("YYYY-MM (default: the latest cycle)"))
def status_command(month):
    try:
        cycle = services.get_cycle(month) if month else next(iter(services.list_cycles()), None)
    except crm_port.ServiceError as exc:
        _fail(exc)
    if cycle is None:
        raise click.ClickException(_("no cycle yet: planning cycle open"))
    click.echo(_("cycle %(month)s", month=cycle.month))
    for step in cycle.steps:  # the step's name translated; its status and owner's role are codes
        label = _(services.STEP_PLAN[step.step][0])
        click.echo(f"  {label:<18} {step.status:<12} " + _("due %(day)s", day=step.due_on) + f"  {step.owner_role}")
    for version in services.versions(cycle):
        published = version.published_at
        state = _("published %(when)s UTC", when=published.strftime("%Y-%m-%d %H:%M")) if published else _("draft")
        click.echo("  " + _("plan version %(version)s (%(source)s): %(state)s", version=version.version,
                            source=version.source, state=state))


@cycle_cli.command("publish", help=_l(
    "Publish the cycle's consensus plan (demand plan, capacity, revenue) as a new version."))
@cli_option("--month", required=True, help="YYYY-MM")
def publish_command(month):
    try:
        version = services.publish_cycle(CLI_ACTOR, month, crm_port.utcnow())
    except crm_port.ServiceError as exc:
        _fail(exc)
    crm_port.db.session.commit()
    click.echo(_("plan %(month)s version %(version)s published: %(n)s family-months", month=month,
                 version=version.version, n=len(version.cells)))


def _report(result) -> None:
    if result.rejected:
        crm_port.db.session.rollback()
        for rejection in result.rejected:
            click.echo(_("line %(line)s: %(message)s", line=rejection.line, message=rejection.message), err=True)
        raise click.ClickException(ngettext("%(num)s row rejected; nothing was imported",
                                            "%(num)s rows rejected; nothing was imported", len(result.rejected)))


@click.command("import-plan", help=_l(
    "Import a consensus plan CSV (family,period,demand_units,capacity_units,revenue)."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@cli_option("--cycle", "month", required=True, help=_l("YYYY-MM: the cycle the plan belongs to"))
@cli_option("--publish", is_flag=True, help=_l("publish it (it supersedes the plan in force)"))
def import_plan_command(file, month, publish):
    try:
        imported = services.import_plan(CLI_ACTOR, month, file, crm_port.utcnow(), publish_it=publish)
    except crm_port.ServiceError as exc:
        _fail(exc)
    _report(imported.result)
    assert imported.version is not None  # a plan without rejected rows is always written
    crm_port.db.session.commit()
    counts = {"month": month, "version": imported.version.version}
    rows = imported.result.accepted
    click.echo(ngettext("plan %(month)s version %(version)s: %(num)s row, published",
                        "plan %(month)s version %(version)s: %(num)s rows, published", rows, **counts)
               if imported.version.published_at else
               ngettext("plan %(month)s version %(version)s: %(num)s row, saved as a draft",
                        "plan %(month)s version %(version)s: %(num)s rows, saved as a draft", rows, **counts))


@click.command("import-business-plan", help=_l(
    "Import the business plan CSV (family,period,revenue); each row replaces its month."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_business_plan_command(file):
    result = services.import_business_plan(CLI_ACTOR, file, crm_port.utcnow())
    _report(result)
    crm_port.db.session.commit()
    click.echo(ngettext("business plan: %(num)s row imported, %(replaced)s replaced",
                        "business plan: %(num)s rows imported, %(replaced)s replaced", result.accepted,
                        replaced=result.replaced))


COMMANDS = (cycle_cli, import_plan_command, import_business_plan_command)
