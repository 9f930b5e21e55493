"""``flask --app wsgi crm tracking ...``: recompute every verdict at once, import IP ranges."""
from __future__ import annotations

import click

from crm.auth.services import list_users
from crm.errors import ServiceError
from crm.extensions import db
from crm.timeutil import utcnow
from crm.tracking import ipranges
from crm.tracking.recompute import recompute_verdicts


@click.group("tracking")
def tracking_cli():
    """Email and website tracking."""


@tracking_cli.command("recompute-verdicts")
def recompute_command():
    """Re-judge every stored event with the current rules (crm/tracking/verdicts.py)."""
    result = recompute_verdicts()
    db.session.commit()
    click.echo(f"{result.changed} of {result.examined} events changed verdict")


@tracking_cli.command("import-ip-ranges")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_ranges_command(path):
    """Replace the IP ranges with a CSV file (cidr,company,domain)."""
    admin = next((u for u in list_users() if u.role == "admin" and u.is_active), None)
    if admin is None:
        raise click.ClickException("create an admin user first")
    try:
        result = ipranges.import_ranges(admin, open(path, encoding="utf-8-sig").read(), utcnow())
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message}: {exc.fields}") from None
    db.session.commit()
    click.echo(f"imported {result.imported} ranges ({result.ipv4} IPv4, {result.ipv6} IPv6)")
