"""``flask --app wsgi crm import contacts|deals FILE``: parse options, call ``import_file``,
report. The import commits a batch at a time (see ``crm/imports/runner.py``)."""
from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from crm.auth.models import User
from crm.auth.services import get_user_by_email
from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import _, _l, cli_option, ngettext
from crm.imports.csvsafe import safe_cell
from crm.imports.reader import ImportAborted
from crm.imports.services import ImportOptions, import_file, list_presets
from crm.timeutil import utcnow

import_group = AppGroup("import", help=_l("Import contacts or deals from CSV."))


class CliSink:
    """Moves the progress bar and streams rejections to a CSV file as batches commit."""

    def __init__(self, bar, rejects_file):
        self.bar, self.rejects = bar, csv.writer(rejects_file)
        self.notes: list[tuple[int, str]] = []  # footer lines: few by nature
        self._shown_bytes = 0
        self.rejects.writerow(["line", "reason"])

    def stage(self, tally, rejections, notes) -> None:
        pass

    def committed(self, tally, rejections, notes) -> None:
        self.rejects.writerows((line, safe_cell(reason)) for line, reason in rejections)
        self.notes.extend(notes)
        self.bar.update(tally.bytes_read - self._shown_bytes)
        self._shown_bytes = tally.bytes_read


def _parse_maps(pairs: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        header, sep, target = pair.rpartition("=")
        if not sep or not header.strip():
            raise click.BadParameter(_('%(pair)s: use "CSV Header=field"', pair=repr(pair)), param_hint="--map")
        overrides[header.strip()] = target.strip()
    return overrides


def _user(email: str, option: str) -> User:
    try:
        return get_user_by_email(email)
    except (ServiceError, ValueError):
        raise click.BadParameter(_("no user %(email)s", email=email), param_hint=option) from None


def _actor(as_email: str | None, owner: User | None) -> User:
    """Who the import acts as: --as, else the --owner, else the first administrator."""
    if as_email:
        return _user(as_email, "--as")
    if owner is not None:
        return owner
    admin = db.session.scalar(
        select(User).where(User.role == "admin", User.is_active.is_(True)).order_by(User.id)
    )
    if admin is None:
        raise click.UsageError(_("no administrator exists yet: create one, or pass --as EMAIL"))
    return admin


def _import_options(func):
    options = [
        click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        cli_option("--on-duplicate", type=click.Choice(["update", "skip"]), default="skip",
                   show_default=True, help=_l("What to do with a row whose email / deal id exists.")),
        cli_option("--map", "maps", multiple=True, metavar='"CSV Header=field"',
                   help=_l("Map a column to a field (repeatable); field 'ignore' drops the column.")),
        cli_option("--encoding", default="auto", show_default=True,
                   help=_l("The file's encoding (detected by default), e.g. utf-8, cp1252, latin-1.")),
        cli_option("--delimiter", type=click.Choice(["auto", "comma", "semicolon", "tab", "pipe"]),
                   default="auto", show_default=True, help=_l("The separator (detected by default).")),
        cli_option("--date-order", type=click.Choice(["auto", "dmy", "mdy"]), default="auto", show_default=True,
                   help=_l("How 05/03/2024 reads: day first, month first, or guessed from the file.")),
        cli_option("--preset", "preset_name", help=_l("Apply your saved mapping preset of this name (see --as).")),
        cli_option("--family", "default_family",
                   help=_l("Deals: product family of rows with an amount but no family column.")),
        cli_option("--owner", "owner_email", help=_l("Owner of rows that name none (a sales user's email).")),
        cli_option("--as", "as_email", help=_l("The user the import acts as (default: --owner, else an admin).")),
        cli_option("--rejects", "rejects_path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
                   help=_l("Write rejected rows (line, reason) to this CSV file instead of the terminal.")),
        cli_option("--batch-size", type=click.IntRange(1, 100_000), help=_l("Rows per transaction.")),
    ]
    for option in reversed(options):
        func = option(func)
    return func


DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def _preset(actor: User, kind: str, name: str | None) -> dict | None:
    if not name:
        return None
    found = [p for p in list_presets(actor, kind) if p.name == name]
    if not found:
        message = (_("%(email)s has no contacts preset named %(name)s", email=actor.email, name=repr(name))
                   if kind == "contacts" else
                   _("%(email)s has no deals preset named %(name)s", email=actor.email, name=repr(name)))
        raise click.BadParameter(message, param_hint="--preset")
    return found[0].mapping


def _run(kind, file, on_duplicate, maps, encoding, delimiter, date_order, preset_name, default_family,
         owner_email, as_email, rejects_path, batch_size):
    owner = _user(owner_email, "--owner") if owner_email else None
    actor = _actor(as_email, owner)
    options = ImportOptions(
        on_duplicate=on_duplicate, encoding=encoding, overrides=_parse_maps(maps),
        default_owner_id=owner.id if owner else None, batch_size=batch_size,
        delimiter=DELIMITERS.get(delimiter), day_first=None if date_order == "auto" else date_order == "dmy",
        preset=_preset(actor, kind, preset_name), default_family=default_family,
    )
    with (open(rejects_path, "w", newline="", encoding="utf-8") if rejects_path
          else tempfile.TemporaryFile("w+", newline="", encoding="utf-8")) as rejects:
        label = _("Importing deals") if kind == "deals" else _("Importing contacts")
        with click.progressbar(length=max(file.stat().st_size, 1), label=label, file=sys.stderr) as bar:
            try:
                outcome = import_file(file, kind, actor=actor, now=utcnow(), options=options,
                                      sink=(sink := CliSink(bar, rejects)))
            except (ImportAborted, ServiceError) as exc:
                db.session.rollback()
                raise click.ClickException(getattr(exc, "message", None) or str(exc)) from None
        _report(kind, file, outcome, rejects, rejects_path, sink_notes=sink.notes)


def _report(kind, file, outcome, rejects, rejects_path, sink_notes=()) -> None:
    tally, mapping = outcome.tally, outcome.mapping
    if outcome.detected is not None:
        detected = outcome.detected
        # The separator's name is the word --delimiter takes: kept as it is.
        encoding = (_("encoding %(name)s (detected)", name=detected.encoding) if detected.encoding_guessed
                    else _("encoding %(name)s", name=detected.encoding))
        separator = (_("separator %(name)s (detected)", name=detected.delimiter_name)
                     if detected.delimiter_guessed else _("separator %(name)s", name=detected.delimiter_name))
        click.echo(_("read as: %(encoding)s, %(separator)s", encoding=encoding, separator=separator))
    ignored = _("ignored")
    columns = ", ".join(f"{h} -> {t or ignored}" for h, t in zip(mapping.headers, mapping.targets))
    click.echo(_("columns: %(columns)s", columns=columns))
    if mapping.ignored:
        click.echo(_("ignored columns (no matching field): %(columns)s", columns=", ".join(mapping.ignored)))
    for line, note in sink_notes:
        click.echo(_("line %(line)s: %(message)s", line=line, message=note))
    counts = {"file": file.name, "created": tally.created, "updated": tally.updated,
              "skipped": tally.skipped, "rejected": tally.rejected}
    if kind == "deals":
        click.echo(ngettext("%(file)s: %(num)s row; deals created %(created)s, updated %(updated)s, skipped "
                            "%(skipped)s; rows rejected %(rejected)s",
                            "%(file)s: %(num)s rows; deals created %(created)s, updated %(updated)s, skipped "
                            "%(skipped)s; rows rejected %(rejected)s", tally.rows_seen, **counts))
    else:
        click.echo(ngettext("%(file)s: %(num)s row; contacts created %(created)s, updated %(updated)s, skipped "
                            "%(skipped)s; rows rejected %(rejected)s",
                            "%(file)s: %(num)s rows; contacts created %(created)s, updated %(updated)s, skipped "
                            "%(skipped)s; rows rejected %(rejected)s", tally.rows_seen, **counts))
    if not tally.rejected:
        return
    if rejects_path:
        click.echo(_("rejected rows written to %(path)s", path=rejects_path))
        return
    rejects.seek(0)
    reader = csv.reader(rejects)
    next(reader, None)
    for line, reason in reader:
        click.echo(_("line %(line)s: %(message)s", line=line, message=reason), err=True)


@import_group.command("contacts", help=_l(
    "Import contacts from a CSV FILE (one contact per row; needs an email column)."))
@_import_options
def import_contacts_command(**kwargs):
    _run("contacts", **kwargs)


@import_group.command("deals", help=_l(
    "Import deals from a CSV FILE: one row per deal line; rows with the same deal id (or, without "
    "one, the same name) make one deal."))
@_import_options
def import_deals_command(**kwargs):
    _run("deals", **kwargs)
