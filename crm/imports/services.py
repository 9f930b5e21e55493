"""Import services: inspect a file, import it (CLI, benchmark), and the queued import jobs the
upload page creates and the worker runs.

``import_file`` and ``run_import_job`` commit once per batch (see ``runner``); everything else
flushes and leaves the commit to the caller.
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, cast

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import CursorResult

import crm.deals.services as deal_services
from crm.auth.models import User
from crm.errors import NotFound, ValidationFailed
from crm.extensions import db
from crm.i18n import _, ngettext
from crm.imports.cells import guess_day_first
from crm.imports.contacts import ContactImporter
from crm.imports.deals import DealImporter
from crm.imports.detect import Detected, check_delimiter, detect
from crm.imports.emailcache import memoized_domain_checks
from crm.imports.mapping import (
    Mapping,
    apply_overrides,
    apply_preset,
    default_mapping,
    mapping_from_json,
    missing_required,
    recognised_columns,
    target_choices,
)
from crm.imports.models import ImportJob, ImportPreset, ImportRejection
from crm.imports.reader import CsvStream, ImportAborted, check_encoding
from crm.imports.runner import ImportTally, ProgressSink, run_batches
from crm.policy import require_sales
from crm.validation import has_control_chars
from crm.web.pagination import Page, clamp_page

log = logging.getLogger(__name__)

KINDS = ("contacts", "deals")
ON_DUPLICATE = ("update", "skip")
REASON_MAX = 500
PREVIEW_ROWS = 10
DATE_SAMPLE_ROWS = 50  # rows read to tell 05/03/2024 (day first) from 3/5/2024


@dataclass
class ImportOptions:
    on_duplicate: str = "skip"
    encoding: str | None = None  # None or "auto": detected
    delimiter: str | None = None  # None or "auto": detected
    overrides: dict[str, str] = field(default_factory=dict)  # {"CSV header": "field"}
    stored_mapping: dict | None = None  # ImportJob.mapping, chosen on the mapping page
    preset: dict[str, str] | None = None  # a saved mapping, applied before ``overrides``
    default_owner_id: int | None = None
    batch_size: int | None = None
    day_first: bool | None = None  # dates like 05/03/2024; None: guessed from the file
    default_family: str | None = None  # deals: the product family of an "amount" line


@dataclass(frozen=True)
class ImportOutcome:
    tally: ImportTally
    mapping: Mapping
    detected: Detected | None = None


@dataclass(frozen=True)
class Preview:
    """What an import would read, before anything is written."""

    kind: str
    detected: Detected
    mapping: Mapping
    rows: list[tuple[int, list[str]]]  # (line number, cells) of the first rows
    missing: list[str]  # required fields no column feeds
    day_first: bool


class NullSink:
    def stage(self, tally, rejections, notes) -> None:
        pass

    def committed(self, tally, rejections, notes) -> None:
        pass


def _check_options(kind: str, options: ImportOptions) -> None:
    if kind not in KINDS:
        raise ImportAborted(_("unknown import kind %(kind)s: contacts or deals", kind=repr(kind)))
    if options.on_duplicate not in ON_DUPLICATE:
        raise ImportAborted(_("on duplicate: update or skip"))


def detect_settings(path: str | os.PathLike, kind: str, encoding: str | None = None,
                    delimiter: str | None = None) -> Detected:
    """The file's encoding and delimiter: the ones given, else detected.

    :raises ImportAborted: an unknown encoding or delimiter
    """
    if kind not in KINDS:
        raise ImportAborted(_("unknown import kind %(kind)s: contacts or deals", kind=repr(kind)))
    try:
        delimiter = check_delimiter(delimiter)
    except ValueError as exc:
        raise ImportAborted(str(exc)) from None
    if encoding not in (None, "", "auto"):
        encoding = check_encoding(encoding)
    detected = detect(path, recognised_columns(kind), encoding=encoding, delimiter=delimiter)
    if detected.encoding_guessed and detected.encoding.startswith(("utf-16", "utf-32")):
        raise ImportAborted(_("the file is UTF-16 (Excel 'Unicode text'); save it as CSV UTF-8"))
    return detected


def open_csv(path: str | os.PathLike, encoding: str | None, delimiter: str = ","):
    """A binary handle and the stream over it (header already read). Close the handle."""
    check_encoding(encoding)
    handle = open(path, "rb")
    try:
        return handle, CsvStream(handle, encoding, total_bytes=os.fstat(handle.fileno()).st_size,
                                 delimiter=delimiter)
    except BaseException:
        handle.close()
        raise


def inspect_file(path: str | os.PathLike, kind: str, encoding: str | None = None,
                 delimiter: str | None = None) -> Mapping:
    """The header of a file and the default mapping, for the mapping page. Reads one record.

    :raises ImportAborted: unreadable header, unknown encoding, empty file
    """
    detected = detect_settings(path, kind, encoding, delimiter)
    handle, stream = open_csv(path, detected.encoding, detected.delimiter)
    with handle:
        return default_mapping(kind, stream.header)


def _first_records(stream: CsvStream, count: int) -> list[tuple[int, list[str]]]:
    rows = []
    for seen, record in enumerate(stream.records(), start=1):
        if record.error is None:
            rows.append((record.line_number, record.values))
        if len(rows) >= count or seen >= 5 * count:
            break
    return rows


def sample_rows(path: str | os.PathLike, encoding: str | None, count: int = 3,
                delimiter: str = ",") -> list[list[str]]:
    """The first few readable rows, to show next to each column on the mapping page."""
    handle, stream = open_csv(path, encoding, delimiter)
    with handle:
        return [values for _line, values in _first_records(stream, count)]


def _build_mapping(kind: str, headers: list[str], options: ImportOptions, *, check_required: bool) -> Mapping:
    if options.stored_mapping:
        return mapping_from_json(kind, headers, options.stored_mapping)
    mapping = default_mapping(kind, headers)
    if options.preset:
        mapping = apply_preset(mapping, options.preset)
    return apply_overrides(mapping, options.overrides, check_required=check_required)


def preview_file(path: str | os.PathLike, kind: str, options: ImportOptions | None = None,
                 rows: int = PREVIEW_ROWS) -> Preview:
    """Detect, map and read the first ``rows`` rows of a file; writes nothing.

    :raises ImportAborted: the file cannot be read at all (empty, no header, bad encoding)
    """
    options = options or ImportOptions()
    detected = detect_settings(path, kind, options.encoding, options.delimiter)
    handle, stream = open_csv(path, detected.encoding, detected.delimiter)
    with handle:
        mapping = _build_mapping(kind, stream.header, options, check_required=False)
        first = _first_records(stream, max(rows, DATE_SAMPLE_ROWS))
    day_first = options.day_first if options.day_first is not None else guess_day_first(
        mapping, [values for _line, values in first], detected.delimiter)
    return Preview(kind, detected, mapping, first[:rows], missing_required(kind, mapping.targets), day_first)


def _importer(kind: str, mapping: Mapping, actor: User, now: datetime, options: ImportOptions,
              day_first: bool):
    cls = ContactImporter if kind == "contacts" else DealImporter
    return cls(mapping, actor, now, on_duplicate=options.on_duplicate,
               default_owner_id=options.default_owner_id, day_first=day_first,
               default_family=options.default_family)


def import_file(
    path: str | os.PathLike, kind: str, *, actor: User, now: datetime,
    options: ImportOptions | None = None, sink: ProgressSink | None = None,
    tally: ImportTally | None = None, skip_rows: int = 0,
) -> ImportOutcome:
    """Import a CSV file of contacts or deals, committing a batch at a time.

    :param actor: the user the import acts as (a sales user; a rep owns what has no owner)
    :param sink: receives counters and (line, reason) rejections per batch
    :raises ImportAborted: the file as a whole is unusable (empty, unknown encoding, missing
        column: found before any row is written) or stops being readable part-way
    """
    options = options or ImportOptions()
    _check_options(kind, options)
    require_sales(actor)
    detected = detect_settings(path, kind, options.encoding, options.delimiter)
    day_first = options.day_first
    if day_first is None:
        day_first = preview_file(path, kind, replace(options, encoding=detected.encoding,
                                                     delimiter=detected.delimiter)).day_first
    handle, stream = open_csv(path, detected.encoding, detected.delimiter)
    with handle:
        mapping = _build_mapping(kind, stream.header, options, check_required=True)
        importer = _importer(kind, mapping, actor, now, options, day_first)
        batch_size = options.batch_size or current_app.config.get("IMPORT_BATCH_SIZE", 1000)
        with memoized_domain_checks():
            tally = run_batches(
                stream, importer, sink or NullSink(), batch_size=batch_size,
                tally=tally or ImportTally(total_bytes=stream.total_bytes), skip_rows=skip_rows,
            )
    return ImportOutcome(tally, mapping, detected)


# --- upload storage ------------------------------------------------------------------------

def upload_dir() -> Path:
    configured = current_app.config.get("IMPORT_UPLOAD_DIR")
    base = Path(configured) if configured else Path(current_app.config.get(
        "INSTANCE_DIR", current_app.instance_path)) / "uploads"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


def new_upload_path() -> Path:
    """A fresh random file name under the upload folder (never the user's file name)."""
    return upload_dir() / f"{secrets.token_hex(16)}.csv"


def stored_file(name: str) -> Path:
    """The upload called ``name``; refuses anything that is not a bare generated name."""
    if not name or Path(name).name != name or not name.endswith(".csv"):
        raise NotFound(_("no such upload"))
    return upload_dir() / name


CSV_CONTENT_TYPES = {
    "text/csv", "application/csv", "text/x-csv", "text/comma-separated-values", "text/plain",
    # What browsers on Windows send for .csv when Excel is installed; generic clients send octets.
    "application/vnd.ms-excel", "application/octet-stream",
}
SNIFF_BYTES = 4096


def upload_problem(upload) -> str | None:
    """Why an uploaded file (a werkzeug ``FileStorage``) is not a CSV file, or None."""
    if upload is None:
        return _("send a CSV file (multipart field 'file')")
    content_type = (upload.mimetype or "").lower()
    if content_type not in CSV_CONTENT_TYPES:
        return _("The file was sent as %(type)s, not as CSV.", type=content_type or _("an unknown type"))
    head = upload.stream.read(SNIFF_BYTES)
    upload.stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return _("This is an Excel workbook, not CSV. In Excel use Save as > CSV UTF-8.")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _("This file is binary, not text: only CSV files can be imported.")
    return None


def save_upload(upload) -> Path:
    """Store an uploaded CSV file under a random name.

    :raises ValidationFailed: (field ``file``) not a CSV file
    """
    problem = upload_problem(upload)
    if problem:
        raise ValidationFailed(_("cannot read this file"), {"file": problem})
    path = new_upload_path()
    upload.save(path)
    return path


def discard_upload(name: str) -> None:
    try:
        stored_file(name).unlink(missing_ok=True)
    except NotFound:
        pass


# --- jobs -------------------------------------------------------------------------------

def queue_import(
    actor: User, *, kind: str, filename: str, stored_name: str, on_duplicate: str,
    encoding: str | None, mapping: Mapping, now: datetime, delimiter: str | None = None,
    day_first: bool | None = None, default_family: str | None = None,
) -> ImportJob:
    """Queue an uploaded file for the worker. The encoding and delimiter are kept as detected
    (or chosen) on the preview, so the worker reads the file the way the user saw it."""
    require_sales(actor)
    errors = {}
    if kind not in KINDS:
        errors["kind"] = _("contacts or deals")
    if on_duplicate not in ON_DUPLICATE:
        errors["on_duplicate"] = _("update or skip")
    path = stored_file(stored_name)
    if not path.exists():
        errors["file"] = _("the uploaded file is gone; upload it again")
    if errors:
        raise ValidationFailed(_(_("cannot queue this import")), errors)
    detected = None
    if not errors:
        try:
            detected = detect_settings(path, kind, encoding, delimiter)
        except ImportAborted as exc:
            errors["delimiter" if "delimiter" in str(exc) else "encoding"] = str(exc)
    if any("\x00" in header for header in mapping.headers):
        errors["file"] = _("the header line contains NUL characters: is this really a CSV file?")
    if default_family and default_family not in {f.code for f in deal_services.list_families()}:
        errors["default_family"] = _("no product family %(family)s", family=repr(default_family[:40]))
    if errors or detected is None:
        raise ValidationFailed(_("cannot queue this import"), errors)
    settings = {"day_first": day_first, "default_family": default_family or None}
    filename = "".join(c for c in filename if c.isprintable())[:255] or "upload.csv"
    job = ImportJob(
        user_id=actor.id, kind=kind, filename=filename, stored_path=stored_name,
        encoding=detected.encoding, delimiter=detected.delimiter, settings=settings,
        mapping=mapping.as_json(), on_duplicate=on_duplicate, status="queued",
        total_bytes=path.stat().st_size, created_at=now,
    )
    db.session.add(job)
    db.session.flush()
    return job


def job_options(job: ImportJob) -> ImportOptions:
    settings = job.settings or {}
    return ImportOptions(on_duplicate=job.on_duplicate, encoding=job.encoding, delimiter=job.delimiter or ",",
                         stored_mapping=job.mapping, day_first=settings.get("day_first"),
                         default_family=settings.get("default_family"))


def visible_jobs_query(actor: User):
    query = select(ImportJob)
    if actor.role != "admin":
        query = query.where(ImportJob.user_id == actor.id)
    return query


def list_jobs(actor: User, *, page: int = 1, per_page: int = 20) -> Page:
    """The actor's imports, newest first (an admin sees everyone's)."""
    page, per_page = clamp_page(page, per_page, default=20)
    query = visible_jobs_query(actor)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(
        query.order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)


def get_job(actor: User, job_id: int) -> ImportJob:
    """A job its owner (or an admin) may see; anyone else gets NotFound, not a hint it exists."""
    job = db.session.scalar(visible_jobs_query(actor).where(ImportJob.id == job_id))
    if job is None:
        raise NotFound(_("no such import"))
    return job


def rejections_page(job: ImportJob, *, page: int = 1, per_page: int = 50) -> Page:
    """Rejected rows and notes (skipped footer lines) in line order."""
    page, per_page = clamp_page(page, per_page)
    base = select(ImportRejection).where(ImportRejection.job_id == job.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = db.session.scalars(
        base.order_by(ImportRejection.line_number, ImportRejection.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)


def iter_rejections(job_id: int, chunk: int = 1000) -> Iterator[tuple[int, str]]:
    """Every rejected row of a job (not the notes) in line order, fetched a chunk at a time
    (keyset pagination)."""
    after = (0, 0)
    while True:
        rows = db.session.execute(
            select(ImportRejection.line_number, ImportRejection.id, ImportRejection.reason)
            .where(ImportRejection.job_id == job_id, ImportRejection.kind == "rejected")
            .where((ImportRejection.line_number > after[0])
                   | ((ImportRejection.line_number == after[0]) & (ImportRejection.id > after[1])))
            .order_by(ImportRejection.line_number, ImportRejection.id).limit(chunk)
        ).all()
        if not rows:
            return
        for line, _id, reason in rows:
            yield line, reason
        after = (rows[-1][0], rows[-1][1])


class ClaimLost(Exception):
    """Another worker claimed this job (this one was taken for dead): stop without writing."""


class JobSink:
    """Counters, heartbeat and rejection rows of a job, written inside each batch's
    transaction so the page never shows counts for rows that were rolled back.

    The counters are written only while the job still carries this worker's claim token: if
    another worker took the job over, the batch is rolled back (``ClaimLost``), so the rows it
    held are imported once, by the new owner, which resumes after the last committed batch."""

    def __init__(self, job: ImportJob, clock: Callable[[], datetime]):
        self.job, self.clock = job, clock
        self.job_id, self.token = job.id, job.claim_token

    def stage(self, tally: ImportTally, rejections: list[tuple[int, str]],
              notes: list[tuple[int, str]]) -> None:
        ours = ImportJob.claim_token.is_(None) if self.token is None else ImportJob.claim_token == self.token
        moved = cast(CursorResult, db.session.execute(
            update(ImportJob).where(ImportJob.id == self.job_id, ours).values(
                rows_seen=tally.rows_seen, bytes_read=tally.bytes_read, created_count=tally.created,
                updated_count=tally.updated, skipped_count=tally.skipped, rejected_count=tally.rejected,
                noted_count=tally.noted, heartbeat_at=self.clock(),
            ).execution_options(synchronize_session=False)
        ))
        if moved.rowcount != 1:
            raise ClaimLost(f"import job {self.job_id} was claimed by another worker")
        rows = [{"job_id": self.job_id, "line_number": line, "reason": reason[:REASON_MAX], "kind": "rejected"}
                for line, reason in rejections]
        rows += [{"job_id": self.job_id, "line_number": line, "reason": note[:REASON_MAX], "kind": "note"}
                 for line, note in notes]
        if rows:
            db.session.execute(insert(ImportRejection), rows)

    def committed(self, tally, rejections, notes) -> None:
        pass


def tally_of(job: ImportJob) -> ImportTally:
    return ImportTally(
        rows_seen=job.rows_seen, created=job.created_count, updated=job.updated_count,
        skipped=job.skipped_count, rejected=job.rejected_count, bytes_read=job.bytes_read,
        total_bytes=job.total_bytes, noted=job.noted_count or 0,
    )


# --- mapping presets ---------------------------------------------------------------------

PRESET_NAME_MAX = 100


def list_presets(actor: User, kind: str | None = None) -> list[ImportPreset]:
    query = select(ImportPreset).where(ImportPreset.user_id == actor.id)
    if kind:
        query = query.where(ImportPreset.kind == kind)
    return list(db.session.scalars(query.order_by(ImportPreset.kind, ImportPreset.name)))


def get_preset(actor: User, preset_id: int) -> ImportPreset:
    preset = db.session.get(ImportPreset, preset_id)
    if preset is None or preset.user_id != actor.id:
        raise NotFound(_("no such preset"))
    return preset


def save_preset(actor: User, *, kind: str, name: str, mapping: dict[str, str], now: datetime) -> ImportPreset:
    """Save (or replace) the actor's preset ``name``: ``{"CSV header": "field"}``, fields
    checked against the kind's (``""`` ignores the column)."""
    require_sales(actor)
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if kind not in KINDS:
        errors["kind"] = _("contacts or deals")
    if not name:
        errors["name"] = _("give the preset a name")
    elif len(name) > PRESET_NAME_MAX:
        errors["name"] = _("at most %(max)s characters", max=PRESET_NAME_MAX)
    if not isinstance(mapping, dict) or not mapping:
        errors["mapping"] = _('a mapping {"CSV header": "field"} with at least one column')
    elif kind in KINDS:
        valid = {target for target, _label in target_choices(kind)}
        unknown = sorted({str(t) for t in mapping.values() if t not in valid})
        if unknown:
            errors["mapping"] = ngettext("unknown field: %(fields)s", "unknown fields: %(fields)s", len(unknown),
                                         fields=", ".join(unknown))
        elif any(not str(h).strip() or len(str(h)) > 200 for h in mapping):
            errors["mapping"] = _("every header must be 1 to 200 characters")
        elif any(has_control_chars(str(h)) or has_control_chars(str(t)) for h, t in mapping.items()):
            errors["mapping"] = _("headers may not contain control characters")
    if name and has_control_chars(name):
        errors["name"] = _("contains control characters")
    if errors:
        raise ValidationFailed(_("invalid preset"), errors)
    preset = db.session.scalar(select(ImportPreset).where(
        ImportPreset.user_id == actor.id, ImportPreset.kind == kind, ImportPreset.name == name))
    if preset is None:
        preset = ImportPreset(user_id=actor.id, kind=kind, name=name, created_at=now)
        db.session.add(preset)
    preset.mapping = {str(h).strip(): t for h, t in mapping.items()}
    preset.updated_at = now
    db.session.flush()
    return preset


def delete_preset(actor: User, preset_id: int) -> None:
    db.session.delete(get_preset(actor, preset_id))
    db.session.flush()


def preset_from_mapping(mapping: Mapping) -> dict[str, str]:
    """The choices of a mapping as a preset (every named column, ignored ones included)."""
    return {header: target for header, target in zip(mapping.headers, mapping.targets) if header}
