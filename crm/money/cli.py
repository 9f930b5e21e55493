"""``flask --app wsgi crm currency ...``: the base currency and exchange rates from a shell.

    flask --app wsgi crm currency base MXN
    flask --app wsgi crm currency rate USD 17.25 --from 2026-12-01
    flask --app wsgi crm currency import rates.csv      # currency,rate,valid_from
    flask --app wsgi crm currency list
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import _, _l, cli_option, ngettext
from crm.money import services

currency_group = AppGroup("currency", help=_l("The base currency and exchange rates."))


def _fail(exc: ServiceError) -> None:
    db.session.rollback()
    details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
    raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}")


@currency_group.command("base", help=_l("Set the base currency every total is in (e.g. MXN)."))
@click.argument("code")
def base_command(code: str) -> None:
    try:
        code = services.set_base_currency(None, code)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(_("Base currency: %(code)s", code=code))


@currency_group.command("rate", help=_l(
    "Record that 1 CODE = RATE base currency from --from on (replaces that day's rate)."))
@click.argument("code")
@click.argument("rate")
@cli_option("--from", "valid_from", required=True, help=_l("first day the rate applies, YYYY-MM-DD"))
def rate_command(code: str, rate: str, valid_from: str) -> None:
    try:
        entry = services.add_rate(None, code, rate, valid_from)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(_("1 %(currency)s = %(rate)s %(base)s from %(day)s", currency=entry.currency,
                 rate=format(entry.rate.normalize(), "f"), base=entry.base, day=entry.valid_from))


@currency_group.command("import", help=_l(
    "Import rates from a CSV with the columns currency,rate,valid_from (all or nothing)."))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    try:
        count = services.import_rates_csv(None, path.read_bytes())
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(ngettext("%(num)s rate imported", "%(num)s rates imported", count))


@currency_group.command("list", help=_l("The base currency and every rate into it."))
def list_command() -> None:
    click.echo(_("Base currency: %(code)s", code=services.base_currency()))
    page = services.list_rates(page=1, per_page=200)
    for rate in page.items:
        click.echo(f"{rate.currency}\t{rate.rate.normalize():f}\t" + _("from %(day)s", day=rate.valid_from))
    if page.total > len(page.items):
        click.echo(_("... and %(n)s more", n=page.total - len(page.items)))
