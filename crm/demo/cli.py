"""``flask --app wsgi crm seed-demo``: build the demo company once, print the logins always."""
from __future__ import annotations

import time

import click

from crm.demo import catalog
from crm.demo.seed import DEFAULT_SEED, demo_state, seed_demo
from crm.demo.timing import reference_today
from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import DEFAULT_LANGUAGE, _, _l, cli_option, speaking
from crm.timeutil import utcnow


def _echo_logins() -> None:
    click.echo(_("Demo logins (the same password for everyone):"))
    for user in catalog.USERS:
        click.echo(f"  {user.email:<32} {user.role:<8} {catalog.DEMO_PASSWORD}")


@click.command("seed-demo", help=_l(
    "Build the demo company: a sales team, 400 companies, 2,000 contacts and two years of deals. "
    "Idempotent: when the demo is already there it only prints the logins."))
@cli_option("--seed", default=DEFAULT_SEED, show_default=True, type=int,
            help=_l("Random seed: the same seed builds the same company."))
@cli_option("--today", "today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
            help=_l("Reference today anchoring the two-year history (default: this week's Monday, UTC)."))
def seed_demo_command(seed, today):
    state = demo_state()
    if state == "present":
        click.echo(_("demo data already present"))
        _echo_logins()
        return
    if state == "partial":
        raise click.ClickException(_(
            "an earlier seed-demo run was interrupted: the database holds part of the demo. "
            "Reset it (for the default SQLite database: delete instance/crm.sqlite3, then run "
            "`flask --app wsgi db upgrade`) and seed again."))
    if state == "other":
        click.echo(_("the database already holds data that is not the demo's: not seeding"))
        return
    anchor = today.date() if today else reference_today(utcnow())
    started = time.monotonic()
    try:
        # The demo's data is the same whoever seeds it: written as the worker writes (in English
        # where a service stores text, e.g. hot-lead alerts); only this command's lines are translated.
        with speaking(DEFAULT_LANGUAGE):
            counts = seed_demo(seed=seed, today=anchor, commit=db.session.commit)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(_("seeding failed: %(message)s %(fields)s", message=exc.message,
                                     fields=exc.fields)) from exc
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    click.echo(_("demo data seeded in %(seconds)ss (seed %(seed)s, history up to %(day)s): %(summary)s",
                 seconds=format(time.monotonic() - started, ".1f"), seed=seed, day=anchor.isoformat(),
                 summary=summary))
    _echo_logins()
