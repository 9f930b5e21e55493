"""``flask --app wsgi crm recordings analyse-pending``: analyse every pending recording now
(the worker does the same every few seconds)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.recordings.worker import analyse_pending
from crm.timeutil import utcnow

recordings_group = AppGroup("recordings", help="Call recordings: analysis.")


@recordings_group.command("analyse-pending")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Analyse at most this many.")
def analyse_pending_command(limit: int | None) -> None:
    """Analyse the pending recordings (waveform, talk ratio, monologues...) once."""
    counts = analyse_pending(utcnow(), limit=limit)
    click.echo(f"{counts['ready']} analysed, {counts['failed']} failed")
