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
from crm.money import services

currency_group = AppGroup("currency", help="The base currency and exchange rates.")


def _fail(exc: ServiceError) -> None:
    db.session.rollback()
    details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
    raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}")


@currency_group.command("base")
@click.argument("code")
def base_command(code: str) -> None:
    """Set the base currency every total is in (e.g. MXN)."""
    try:
        code = services.set_base_currency(None, code)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Base currency: {code}")


@currency_group.command("rate")
@click.argument("code")
@click.argument("rate")
@click.option("--from", "valid_from", required=True, help="first day the rate applies, YYYY-MM-DD")
def rate_command(code: str, rate: str, valid_from: str) -> None:
    """Record that 1 CODE = RATE base currency from --from on (replaces that day's rate)."""
    try:
        entry = services.add_rate(None, code, rate, valid_from)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"1 {entry.currency} = {entry.rate.normalize():f} {entry.base} from {entry.valid_from}")


@currency_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path: Path) -> None:
    """Import rates from a CSV with the columns currency,rate,valid_from (all or nothing)."""
    try:
        count = services.import_rates_csv(None, path.read_bytes())
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"{count} rates imported")


@currency_group.command("list")
def list_command() -> None:
    """The base currency and every rate into it."""
    click.echo(f"Base currency: {services.base_currency()}")
    page = services.list_rates(page=1, per_page=200)
    for rate in page.items:
        click.echo(f"{rate.currency}\t{rate.rate.normalize():f}\tfrom {rate.valid_from}")
    if page.total > len(page.items):
        click.echo(f"... and {page.total - len(page.items)} more")
