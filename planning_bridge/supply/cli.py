"""``flask --app wsgi planning aggregate-plan FILE.json``: added to the bridge's ``planning``
group (``planning_bridge/cli.py``). Reads a scenario (the JSON the API's ``POST
/api/v1/planning/aggregate-plans`` takes; ``-`` reads standard input) and prints the same
JSON the API answers. Nothing is stored."""
from __future__ import annotations

import json

import click
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import lazy_gettext as _l

from planning_bridge import crm_port
from planning_bridge.supply import services

MAX_FILE_BYTES = 1024 * 1024


@click.command("aggregate-plan", help=_l(
    "Optimal, chase, level (and planner's) plans of one family, with promotion what-ifs."))
@click.argument("file", type=click.File("rb"))
def aggregate_plan_command(file):
    raw = file.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise click.ClickException(_("the scenario file is larger than %(n)s bytes", n=MAX_FILE_BYTES))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(_("not JSON: %(error)s", error=exc)) from None
    try:
        result = services.run_aggregate_plan(services.parse_scenario(data))
    except crm_port.ValidationFailed as exc:
        for field, reason in (exc.fields or {}).items():
            click.echo(f"{field}: {reason}", err=True)
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps(services.aggregate_plan_out(result).model_dump(mode="json"), indent=2))  # the API's JSON


COMMANDS = (aggregate_plan_command,)
