"""``flask --app wsgi planning cycle open|status|publish`` and ``planning import-plan`` /
``planning import-business-plan``: added to the bridge's ``planning`` group
(``planning_bridge/cli.py``). The command line acts as an administrator (whoever runs it has
the server); each command parses, calls a service, commits, prints."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from planning_bridge import crm_port
from planning_bridge.periods import month_index, period_text
from planning_bridge.sop import services

CLI_ACTOR = services.Actor(id=None, role="admin")
cycle_cli = AppGroup("cycle", help="The monthly S&OP cycle: open, status, publish.")


def _fail(exc: crm_port.ServiceError) -> None:
    crm_port.db.session.rollback()
    details = "; ".join(f"{k}: {v}" for k, v in (exc.fields or {}).items())
    raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}")


def _last_month() -> str:
    return period_text(month_index(crm_port.utcnow().date()) - 1)


@cycle_cli.command("open")
@click.option("--month", default=None, help="YYYY-MM (default: the month just ended)")
def open_command(month):
    """Open a month's cycle and gather its data (snapshot, accuracy, actuals)."""
    try:
        cycle = services.open_cycle(CLI_ACTOR, month or _last_month(), crm_port.utcnow())
    except crm_port.ServiceError as exc:
        _fail(exc)
    crm_port.db.session.commit()
    click.echo(f"cycle {cycle.month} opened: snapshot #{cycle.snapshot_id}, plan months "
               f"{services.horizon_periods(cycle)[0]} to {services.horizon_periods(cycle)[-1]}")


@cycle_cli.command("status")
@click.option("--month", default=None, help="YYYY-MM (default: the latest cycle)")
def status_command(month):
    """Each step's owner, due day and status, and the plan versions."""
    try:
        cycle = services.get_cycle(month) if month else next(iter(services.list_cycles()), None)
    except crm_port.ServiceError as exc:
        _fail(exc)
    if cycle is None:
        raise click.ClickException("no cycle yet: planning cycle open")
    click.echo(f"cycle {cycle.month}")
    for step in cycle.steps:
        click.echo(f"  {services.STEP_PLAN[step.step][0]:<18} {step.status:<12} due {step.due_on}  {step.owner_role}")
    for version in services.versions(cycle):
        state = f"published {version.published_at:%Y-%m-%d %H:%M} UTC" if version.published_at else "draft"
        click.echo(f"  plan version {version.version} ({version.source}): {state}")


@cycle_cli.command("publish")
@click.option("--month", required=True, help="YYYY-MM")
def publish_command(month):
    """Publish the cycle's consensus plan (demand plan, capacity, revenue) as a new version."""
    try:
        version = services.publish_cycle(CLI_ACTOR, month, crm_port.utcnow())
    except crm_port.ServiceError as exc:
        _fail(exc)
    crm_port.db.session.commit()
    click.echo(f"plan {month} version {version.version} published: {len(version.cells)} family-months")


def _report(result) -> None:
    if result.rejected:
        crm_port.db.session.rollback()
        for rejection in result.rejected:
            click.echo(f"line {rejection.line}: {rejection.message}", err=True)
        raise click.ClickException(f"{len(result.rejected)} row(s) rejected; nothing was imported")


@click.command("import-plan")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--cycle", "month", required=True, help="YYYY-MM: the cycle the plan belongs to")
@click.option("--publish", is_flag=True, help="publish it (it supersedes the plan in force)")
def import_plan_command(file, month, publish):
    """Import a consensus plan CSV (family,period,demand_units,capacity_units,revenue)."""
    try:
        imported = services.import_plan(CLI_ACTOR, month, file, crm_port.utcnow(), publish_it=publish)
    except crm_port.ServiceError as exc:
        _fail(exc)
    _report(imported.result)
    assert imported.version is not None  # a plan without rejected rows is always written
    crm_port.db.session.commit()
    state = "published" if imported.version.published_at else "saved as a draft"
    click.echo(f"plan {month} version {imported.version.version}: {imported.result.accepted} row(s), {state}")


@click.command("import-business-plan")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_business_plan_command(file):
    """Import the business plan CSV (family,period,revenue); each row replaces its month."""
    result = services.import_business_plan(CLI_ACTOR, file, crm_port.utcnow())
    _report(result)
    crm_port.db.session.commit()
    click.echo(f"business plan: {result.accepted} row(s) imported, {result.replaced} replaced")


COMMANDS = (cycle_cli, import_plan_command, import_business_plan_command)
