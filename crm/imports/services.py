"""Import services: inspect a file, import it (CLI, benchmark), and the queued import jobs the
upload page creates and the worker runs.

``import_file`` and ``run_import_job`` commit once per batch (see ``runner``); everything else
flushes and leaves the commit to the caller.
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from flask import current_app
from sqlalchemy import func, insert, select

from crm.auth.models import User
from crm.errors import NotFound, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.imports.contacts import ContactImporter
from crm.imports.deals import DealImporter
from crm.imports.emailcache import memoized_domain_checks
from crm.imports.mapping import Mapping, apply_overrides, default_mapping, mapping_from_json
from crm.imports.models import ImportJob, ImportRejection
from crm.imports.reader import CsvStream, ImportAborted, check_encoding
from crm.imports.runner import ImportTally, ProgressSink, run_batches
from crm.policy import require_sales
from crm.web.pagination import Page, clamp_page

log = logging.getLogger(__name__)

KINDS = ("contacts", "deals")
ON_DUPLICATE = ("update", "skip")
REASON_MAX = 500


@dataclass
class ImportOptions:
    on_duplicate: str = "skip"
    encoding: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)  # {"CSV header": "field"}
    stored_mapping: dict | None = None  # ImportJob.mapping, chosen on the mapping page
    default_owner_id: int | None = None
    batch_size: int | None = None


@dataclass(frozen=True)
class ImportOutcome:
    tally: ImportTally
    mapping: Mapping


class NullSink:
    def stage(self, tally, rejections) -> None:
        pass

    def committed(self, tally, rejections) -> None:
        pass


def _check_options(kind: str, options: ImportOptions) -> None:
    if kind not in KINDS:
        raise ImportAborted(f"unknown import kind {kind!r}: contacts or deals")
    if options.on_duplicate not in ON_DUPLICATE:
        raise ImportAborted("on duplicate: update or skip")


def open_csv(path: str | os.PathLike, encoding: str | None):
    """A binary handle and the stream over it (header already read). Close the handle."""
    check_encoding(encoding)
    handle = open(path, "rb")
    try:
        return handle, CsvStream(handle, encoding, total_bytes=os.fstat(handle.fileno()).st_size)
    except BaseException:
        handle.close()
        raise


def inspect_file(path: str | os.PathLike, kind: str, encoding: str | None = None) -> Mapping:
    """The header of a file and the default mapping, for the mapping page. Reads one record.

    :raises ImportAborted: unreadable header, unknown encoding, empty file
    """
    if kind not in KINDS:
        raise ImportAborted(f"unknown import kind {kind!r}: contacts or deals")
    handle, stream = open_csv(path, encoding)
    with handle:
        return default_mapping(kind, stream.header)


def sample_rows(path: str | os.PathLike, encoding: str | None, count: int = 3) -> list[list[str]]:
    """The first few readable rows, to show next to each column on the mapping page."""
    handle, stream = open_csv(path, encoding)
    with handle:
        rows = []
        for seen, record in enumerate(stream.records(), start=1):
            if record.error is None:
                rows.append(record.values)
            if len(rows) >= count or seen >= 50:
                break
    return rows


def _importer(kind: str, mapping: Mapping, actor: User, now: datetime, options: ImportOptions):
    cls = ContactImporter if kind == "contacts" else DealImporter
    return cls(mapping, actor, now, on_duplicate=options.on_duplicate,
               default_owner_id=options.default_owner_id)


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
    handle, stream = open_csv(path, options.encoding)
    with handle:
        if options.stored_mapping:
            mapping = mapping_from_json(kind, stream.header, options.stored_mapping)
        else:
            mapping = apply_overrides(default_mapping(kind, stream.header), options.overrides)
        importer = _importer(kind, mapping, actor, now, options)
        batch_size = options.batch_size or current_app.config.get("IMPORT_BATCH_SIZE", 1000)
        with memoized_domain_checks():
            tally = run_batches(
                stream, importer, sink or NullSink(), batch_size=batch_size,
                tally=tally or ImportTally(total_bytes=stream.total_bytes), skip_rows=skip_rows,
            )
    return ImportOutcome(tally, mapping)


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


def discard_upload(name: str) -> None:
    try:
        stored_file(name).unlink(missing_ok=True)
    except NotFound:
        pass


# --- jobs -------------------------------------------------------------------------------

def queue_import(
    actor: User, *, kind: str, filename: str, stored_name: str, on_duplicate: str,
    encoding: str | None, mapping: Mapping, now: datetime,
) -> ImportJob:
    """Queue an uploaded file for the worker."""
    require_sales(actor)
    errors = {}
    if kind not in KINDS:
        errors["kind"] = "contacts or deals"
    if on_duplicate not in ON_DUPLICATE:
        errors["on_duplicate"] = "update or skip"
    try:
        encoding = check_encoding(encoding)
    except ImportAborted as exc:
        errors["encoding"] = str(exc)
    path = stored_file(stored_name)
    if not path.exists():
        errors["file"] = "the uploaded file is gone; upload it again"
    if errors:
        raise ValidationFailed(_("cannot queue this import"), errors)
    job = ImportJob(
        user_id=actor.id, kind=kind, filename=filename[:255], stored_path=stored_name,
        encoding=encoding, mapping=mapping.as_json(), on_duplicate=on_duplicate, status="queued",
        total_bytes=path.stat().st_size, created_at=now,
    )
    db.session.add(job)
    db.session.flush()
    return job


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
    page, per_page = clamp_page(page, per_page)
    base = select(ImportRejection).where(ImportRejection.job_id == job.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = db.session.scalars(
        base.order_by(ImportRejection.line_number, ImportRejection.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items, page, per_page, total)


def iter_rejections(job_id: int, chunk: int = 1000) -> Iterator[tuple[int, str]]:
    """Every rejection of a job in line order, fetched a chunk at a time (keyset pagination)."""
    after = (0, 0)
    while True:
        rows = db.session.execute(
            select(ImportRejection.line_number, ImportRejection.id, ImportRejection.reason)
            .where(ImportRejection.job_id == job_id)
            .where((ImportRejection.line_number > after[0])
                   | ((ImportRejection.line_number == after[0]) & (ImportRejection.id > after[1])))
            .order_by(ImportRejection.line_number, ImportRejection.id).limit(chunk)
        ).all()
        if not rows:
            return
        for line, _id, reason in rows:
            yield line, reason
        after = (rows[-1][0], rows[-1][1])


class JobSink:
    """Counters, heartbeat and rejection rows of a job, written inside each batch's
    transaction so the page never shows counts for rows that were rolled back."""

    def __init__(self, job: ImportJob, clock: Callable[[], datetime]):
        self.job, self.clock = job, clock

    def stage(self, tally: ImportTally, rejections: list[tuple[int, str]]) -> None:
        job = self.job
        job.rows_seen, job.bytes_read = tally.rows_seen, tally.bytes_read
        job.created_count, job.updated_count = tally.created, tally.updated
        job.skipped_count, job.rejected_count = tally.skipped, tally.rejected
        job.heartbeat_at = self.clock()
        if rejections:
            db.session.execute(insert(ImportRejection), [
                {"job_id": job.id, "line_number": line, "reason": reason[:REASON_MAX]}
                for line, reason in rejections
            ])
        db.session.flush()

    def committed(self, tally, rejections) -> None:
        pass


def tally_of(job: ImportJob) -> ImportTally:
    return ImportTally(
        rows_seen=job.rows_seen, created=job.created_count, updated=job.updated_count,
        skipped=job.skipped_count, rejected=job.rejected_count, bytes_read=job.bytes_read,
        total_bytes=job.total_bytes,
    )
