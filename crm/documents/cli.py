"""``flask --app wsgi crm documents process-pending``: render every queued document and prepare
every queued video now (the worker does the same every few seconds)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.documents.worker import process_pending
from crm.timeutil import utcnow

documents_group = AppGroup("documents", help="Tracked documents and videos: processing uploads.")


@documents_group.command("process-pending")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Process at most this many.")
def process_pending_command(limit: int | None) -> None:
    """Render queued PDFs' pages and extract queued videos' posters, once."""
    counts = process_pending(utcnow(), limit=limit)
    click.echo(f"{counts['ready']} processed, {counts['failed']} failed")
