"""``flask --app wsgi crm recordings analyse-pending``: analyse every pending recording now
(the worker does the same every few seconds)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.i18n import _, _l, cli_option
from crm.recordings.worker import analyse_pending
from crm.timeutil import utcnow

recordings_group = AppGroup("recordings", help=_l("Call recordings: analysis."))


@recordings_group.command("analyse-pending", help=_l(
    "Analyse the pending recordings (waveform, talk ratio, monologues...) once."))
@cli_option("--limit", type=click.IntRange(min=1), default=None, help=_l("Analyse at most this many."))
def analyse_pending_command(limit: int | None) -> None:
    counts = analyse_pending(utcnow(), limit=limit)
    click.echo(_("%(ready)s analysed, %(failed)s failed", ready=counts["ready"], failed=counts["failed"]))
