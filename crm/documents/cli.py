"""``flask --app wsgi crm documents process-pending``: render every queued document and prepare
every queued video now (the worker does the same every few seconds)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.documents.worker import process_pending
from crm.i18n import _, _l, cli_option
from crm.timeutil import utcnow

documents_group = AppGroup("documents", help=_l("Tracked documents and videos: processing uploads."))


@documents_group.command("process-pending", help=_l(
    "Render queued PDFs' pages and extract queued videos' posters, once."))
@cli_option("--limit", type=click.IntRange(min=1), default=None, help=_l("Process at most this many."))
def process_pending_command(limit: int | None) -> None:
    counts = process_pending(utcnow(), limit=limit)
    click.echo(_("%(ready)s processed, %(failed)s failed", ready=counts["ready"], failed=counts["failed"]))
