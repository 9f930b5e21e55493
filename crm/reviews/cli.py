"""``flask --app wsgi crm reviews recount-trackers``: count every keyword tracker again on every
transcript (pages and the API recount on each change already; this is for after an upgrade that
changes the matching rule, or a bulk import of transcripts straight into the database)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.extensions import db
from crm.i18n import _l, ngettext
from crm.reviews import services

reviews_group = AppGroup("reviews", help=_l("Conversation review: keyword trackers."))


@reviews_group.command("recount-trackers", help=_l("Rebuild every tracker's hits on every transcript."))
def recount_trackers_command() -> None:
    counts = services.recount_all()
    db.session.commit()
    click.echo(", ".join((ngettext("%(num)s tracker", "%(num)s trackers", counts["trackers"]),
                          ngettext("%(num)s hit", "%(num)s hits", counts["hits"]))))
