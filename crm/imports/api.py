"""JSON API of CSV imports (``routes``, mounted on /api/v1 from the manifest): preview a file
(detected encoding and delimiter, proposed mapping, first rows; nothing stored or written),
queue an import, follow it, read its rejected rows and notes; save mapping presets.
Thin callers of ``crm.imports.services``."""
from __future__ import annotations

import json
from typing import Literal

from flask import request
from pydantic import BaseModel, ConfigDict, Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, QueryModel, StrictModel, UtcDateTime
from crm.errors import ServiceError, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.imports import services
from crm.imports.detect import DELIMITER_NAMES
from crm.imports.mapping import finish_mapping, target_choices
from crm.imports.reader import ImportAborted
from crm.timeutil import utcnow
from crm.web.access import SALES, roles

routes = ApiRoutes()

Kind = Literal["contacts", "deals"]
Delimiter = Literal["auto", "comma", "semicolon", "tab", "pipe"]
DateOrder = Literal["auto", "dmy", "mdy"]
MAPPING_MAX_BYTES = 64 * 1024


class ReadForm(BaseModel):
    """How to read the file: everything optional, detected when left out."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field("contacts", description="what the file holds")
    encoding: str = Field("auto", max_length=40, description="auto, or a codec such as utf-8, cp1252, latin-1")
    delimiter: Delimiter = Field("auto", description="auto, or the separator")
    date_order: DateOrder = Field("auto", description="how 05/03/2024 reads: dmy, mdy, or guessed from the file")
    preset_id: Id | None = Field(None, description="one of your mapping presets, applied over the guesses")
    mapping: str | None = Field(None, max_length=MAPPING_MAX_BYTES,
                                description='JSON object {"CSV header": "field"} ("" ignores a column), '
                                            "applied last")
    default_family: str | None = Field(None, max_length=40,
                                       description="deals: the product family of a row that has an amount "
                                                   "but no family column")


class QueueForm(ReadForm):
    on_duplicate: Literal["skip", "update"] = Field("skip", description="rows whose email / deal id exists")


class ColumnOut(OutModel):
    header: str
    field: str = Field(description='the field the column feeds ("" = ignored)')
    label: str


class RowOut(OutModel):
    line: int = Field(description="line number in the file (the header is line 1)")
    values: list[str]


class FieldOut(OutModel):
    field: str
    label: str


class PreviewOut(OutModel):
    kind: Kind
    encoding: str
    encoding_detected: bool
    delimiter: Delimiter
    delimiter_detected: bool
    day_first: bool = Field(description="slashed dates read day first (05/03/2024 = 5 March)")
    columns: list[ColumnOut]
    rows: list[RowOut]
    missing: list[str] = Field(description="required fields no column feeds: map them before importing")
    fields: list[FieldOut] = Field(description="every field a column may feed")


class JobOut(OutModel):
    id: int
    kind: Kind
    filename: str
    status: Literal["queued", "running", "done", "failed"]
    encoding: str | None
    delimiter: str | None
    on_duplicate: Literal["skip", "update"]
    rows_seen: int
    created: int
    updated: int
    skipped: int
    rejected: int
    noted: int = Field(description="footer / summary lines skipped (also counted in skipped)")
    bytes_read: int
    total_bytes: int
    error: str | None
    created_at: UtcDateTime
    finished_at: UtcDateTime | None


class JobPage(OutModel):
    items: list[JobOut]
    page: int
    per_page: int
    total: int
    pages: int


class RejectionOut(OutModel):
    line: int
    kind: Literal["rejected", "note"]
    reason: str


class RejectionPage(OutModel):
    items: list[RejectionOut]
    page: int
    per_page: int
    total: int
    pages: int


class PresetIn(StrictModel):
    kind: Kind
    name: str = Field(min_length=1, max_length=100)
    mapping: dict[str, str] = Field(description='{"CSV header": "field"}; "" ignores the column')


class PresetOut(OutModel):
    id: int
    kind: Kind
    name: str
    mapping: dict[str, str]
    updated_at: UtcDateTime


class PresetList(OutModel):
    items: list[PresetOut]


class PresetQuery(QueryModel):
    kind: Kind | None = None


DELIMITER_KEYS = {name: char for char, name in DELIMITER_NAMES.items()}


def _options(form: ReadForm, on_duplicate: str = "skip") -> services.ImportOptions:
    overrides: dict[str, str] = {}
    if form.mapping:
        try:
            overrides = json.loads(form.mapping)
        except ValueError:
            overrides = None
        if not isinstance(overrides, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in overrides.items()):
            raise ValidationFailed(_("invalid form fields"), {"mapping": _('a JSON object {"CSV header": "field"}')})
    preset = services.get_preset(api_user(), form.preset_id).mapping if form.preset_id else None
    return services.ImportOptions(
        on_duplicate=on_duplicate, encoding=form.encoding, overrides=overrides, preset=preset,
        delimiter=DELIMITER_KEYS.get(form.delimiter), default_family=form.default_family or None,
        day_first=None if form.date_order == "auto" else form.date_order == "dmy",
    )


def _refused(exc: ImportAborted) -> ValidationFailed:
    text = str(exc)
    field = "delimiter" if "delimiter" in text else "encoding" if "encoding" in text or "UTF-16" in text else \
        "mapping" if ("column" in text or "field" in text) else "file"
    return ValidationFailed(_("cannot import this file"), {field: text})


def preview_out(preview: services.Preview) -> PreviewOut:
    labels = dict(target_choices(preview.kind))
    return PreviewOut(
        kind=preview.kind, encoding=preview.detected.encoding, encoding_detected=preview.detected.encoding_guessed,
        delimiter=preview.detected.delimiter_name, delimiter_detected=preview.detected.delimiter_guessed,
        day_first=preview.day_first,
        columns=[ColumnOut(header=h, field=t, label=labels.get(t, t))
                 for h, t in zip(preview.mapping.headers, preview.mapping.targets)],
        rows=[RowOut(line=line, values=values) for line, values in preview.rows],
        missing=preview.missing,
        fields=[FieldOut(field=t, label=label) for t, label in labels.items()],
    )


def job_out(job) -> JobOut:
    return JobOut(
        id=job.id, kind=job.kind, filename=job.filename, status=job.status, encoding=job.encoding,
        delimiter=DELIMITER_NAMES.get(job.delimiter or ",", job.delimiter), on_duplicate=job.on_duplicate,
        rows_seen=job.rows_seen, created=job.created_count, updated=job.updated_count, skipped=job.skipped_count,
        rejected=job.rejected_count, noted=job.noted_count or 0, bytes_read=job.bytes_read,
        total_bytes=job.total_bytes, error=job.error, created_at=job.created_at, finished_at=job.finished_at,
    )


@routes.post("/imports/preview")
@roles(*SALES)
@endpoint("Preview a CSV file before importing it", form=ReadForm, files=("file",), response=PreviewOut,
          extra_statuses=(404,),
          description="Detects the encoding and the delimiter (unless given), proposes a mapping (header synonyms "
                      "in English and Spanish and the export vocabularies of HubSpot, Salesforce and Pipedrive, "
                      "then the preset, then `mapping`) and returns the first 10 rows. Nothing is stored or "
                      "written. 404: unknown preset_id.")
def preview_import(form: ReadForm):
    path = services.save_upload(request.files.get("file"))
    try:
        return preview_out(services.preview_file(path, form.kind, _options(form)))
    except ImportAborted as exc:
        raise _refused(exc) from None
    finally:
        path.unlink(missing_ok=True)


@routes.post("/imports")
@roles(*SALES)
@endpoint("Queue a CSV import", form=QueueForm, files=("file",), response=JobOut, status=202,
          extra_statuses=(404,),
          description="The file is read as the preview reads it (same fields) and queued for the worker, which "
                      "starts within seconds; poll GET /imports/{id}. 422 when a required column is not mapped "
                      "(`fields.mapping`). 404: unknown preset_id.")
def queue_import(form: QueueForm):
    actor = api_user()
    path = services.save_upload(request.files.get("file"))
    try:
        options = _options(form, form.on_duplicate)
        preview = services.preview_file(path, form.kind, options)
        mapping = finish_mapping(form.kind, preview.mapping.headers, preview.mapping.targets)
        job = services.queue_import(
            actor, kind=form.kind, filename=(request.files["file"].filename or "upload.csv"),
            stored_name=path.name, on_duplicate=form.on_duplicate, encoding=preview.detected.encoding,
            delimiter=preview.detected.delimiter, mapping=mapping, now=utcnow(), day_first=preview.day_first,
            default_family=options.default_family,
        )
    except ImportAborted as exc:
        path.unlink(missing_ok=True)
        raise _refused(exc) from None
    except ServiceError:
        path.unlink(missing_ok=True)
        raise
    db.session.commit()
    return job_out(job)


@routes.get("/imports")
@roles(*SALES)
@endpoint("List my imports", query=QueryModel, response=JobPage, description="Newest first; admins see all.")
def list_imports(query: QueryModel):
    page = services.list_jobs(api_user(), **page_args(query))
    return JobPage(items=[job_out(j) for j in page.items], page=page.page, per_page=page.per_page,
                   total=page.total, pages=page.pages)


@routes.get("/imports/<int:job_id>")
@roles(*SALES)
@endpoint("Read an import's progress and counts", response=JobOut)
def get_import(job_id: int):
    return job_out(services.get_job(api_user(), job_id))


@routes.get("/imports/<int:job_id>/rejections")
@roles(*SALES)
@endpoint("Rejected rows and notes of an import", query=QueryModel, response=RejectionPage,
          description="In line order: each rejected row with its reason, and each skipped footer line (note).")
def list_import_rejections(job_id: int, query: QueryModel):
    page = services.rejections_page(services.get_job(api_user(), job_id), **page_args(query))
    return RejectionPage(items=[RejectionOut(line=r.line_number, kind=r.kind, reason=r.reason) for r in page.items],
                         page=page.page, per_page=page.per_page, total=page.total, pages=page.pages)


def preset_out(preset) -> PresetOut:
    return PresetOut(id=preset.id, kind=preset.kind, name=preset.name, mapping=preset.mapping or {},
                     updated_at=preset.updated_at)


@routes.get("/import-presets")
@roles(*SALES)
@endpoint("List my mapping presets", query=PresetQuery, response=PresetList)
def list_import_presets(query: PresetQuery):
    return PresetList(items=[preset_out(p) for p in services.list_presets(api_user(), query.kind)])


@routes.post("/import-presets")
@roles(*SALES)
@endpoint("Save a mapping preset", body=PresetIn, response=PresetOut, status=201,
          description="Saving under an existing name (same kind) replaces that preset.")
def save_import_preset(body: PresetIn):
    preset = services.save_preset(api_user(), kind=body.kind, name=body.name, mapping=body.mapping, now=utcnow())
    db.session.commit()
    return preset_out(preset)


@routes.delete("/import-presets/<int:preset_id>")
@roles(*SALES)
@endpoint("Delete a mapping preset", status=204)
def delete_import_preset(preset_id: int):
    services.delete_preset(api_user(), preset_id)
    db.session.commit()
    return None
