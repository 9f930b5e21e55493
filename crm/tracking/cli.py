"""``flask --app wsgi crm tracking ...``: recompute every verdict at once, import IP ranges."""
from __future__ import annotations

import click

from crm.auth.services import list_users
from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import _, _l, ngettext
from crm.timeutil import utcnow
from crm.tracking import ipranges
from crm.tracking.recompute import recompute_verdicts


@click.group("tracking", help=_l("Email and website tracking."))
def tracking_cli():
    pass


@tracking_cli.command("recompute-verdicts", help=_l(
    "Re-judge every stored event with the current rules (crm/tracking/verdicts.py)."))
def recompute_command():
    result = recompute_verdicts()
    db.session.commit()
    click.echo(ngettext("%(changed)s of %(num)s event changed verdict", "%(changed)s of %(num)s events changed verdict",
                        result.examined, changed=result.changed))


@tracking_cli.command("import-ip-ranges", help=_l("Replace the IP ranges with a CSV file (cidr,company,domain)."))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_ranges_command(path):
    admin = next((u for u in list_users() if u.role == "admin" and u.is_active), None)
    if admin is None:
        raise click.ClickException(_("create an admin user first"))
    try:
        result = ipranges.import_ranges(admin, open(path, encoding="utf-8-sig").read(), utcnow())
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message}: {exc.fields}") from None
    db.session.commit()
    click.echo(ngettext("imported %(num)s range (%(ipv4)s IPv4, %(ipv6)s IPv6)",
                        "imported %(num)s ranges (%(ipv4)s IPv4, %(ipv6)s IPv6)", result.imported,
                        ipv4=result.ipv4, ipv6=result.ipv6))
