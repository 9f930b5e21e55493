"""Upload pages: upload a CSV, check the column mapping, follow the queued job, read and
download the rejected rows. The worker (``crm/imports/jobs.py``) does the importing.

The uploaded file waits under ``<instance>/uploads/`` with a random name; which file belongs to
the browser is kept in the (signed) session until the mapping is confirmed and a job queued.
"""
from __future__ import annotations

import csv
import io
import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

import crm.deals.services as deal_services
from crm.errors import NotFound, ServiceError
from crm.i18n import _
from crm.imports import services
from crm.imports.csvsafe import safe_cell
from crm.imports.forms import ReadSettingsForm, UploadForm, mapping_form
from crm.imports.mapping import finish_mapping, target_choices
from crm.imports.reader import ImportAborted
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.formhelpers import commit_or_show_errors, int_arg

log = logging.getLogger(__name__)

bp = Blueprint("imports", __name__)

PENDING = "pending_import"
DELIMITER_CHARS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def _job_or_404(job_id: int):
    try:
        return services.get_job(current_user, job_id)
    except NotFound:
        abort(404)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_exc):
    limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) / 1024 / 1024
    form = UploadForm(formdata=None)
    form.file.errors = [_("The file is larger than the %(limit)s MB limit. Split it, or ask an "
                          "administrator to import it from the command line.", limit=f"{limit_mb:.0f}")]
    return render_template("imports/new.html", form=form, recent=None), 413


@bp.route("/imports")
@roles(*SALES)
def list_imports():
    page = services.list_jobs(current_user, page=int_arg("page") or 1)
    return render_template("imports/list.html", page=page)


@bp.route("/imports/new", methods=["GET", "POST"])
@roles(*SALES)
def new_import():
    form = UploadForm()
    if form.validate_on_submit():
        pending = _store_upload(form)
        if pending:
            return redirect(url_for("imports.map_columns"))
    recent = services.list_jobs(current_user, per_page=5).items
    status = 400 if request.method == "POST" else 200
    return render_template("imports/new.html", form=form, recent=recent), status


def _store_upload(form: UploadForm) -> dict | None:
    """Save the file under a random name and check it can be read; remember it in the session."""
    try:
        path = services.save_upload(form.file.data)
    except ServiceError as exc:
        form.file.errors.extend(exc.fields.values() or [exc.message])
        return None
    try:
        services.inspect_file(path, form.kind.data, form.encoding.data, DELIMITER_CHARS.get(form.delimiter.data))
    except ImportAborted as exc:
        path.unlink(missing_ok=True)
        form.file.errors.append(_("This file cannot be imported: %(reason)s", reason=str(exc)))
        return None
    _discard_pending()
    session[PENDING] = {
        "name": path.name, "filename": (form.file.data.filename or "upload.csv")[:255],
        "kind": form.kind.data, "on_duplicate": form.on_duplicate.data,
        "encoding": form.encoding.data, "delimiter": form.delimiter.data,
    }
    return session[PENDING]


def _discard_pending() -> None:
    pending = session.pop(PENDING, None)
    if pending:
        services.discard_upload(pending["name"])


def _chosen_preset(kind: str):
    preset_id = int_arg("preset")
    if not preset_id:
        return None
    try:
        preset = services.get_preset(current_user, preset_id)
    except NotFound:
        abort(404)
    return preset if preset.kind == kind else None


def _preview(pending: dict, preset):
    path = services.stored_file(pending["name"])
    options = services.ImportOptions(
        encoding=pending.get("encoding"), delimiter=DELIMITER_CHARS.get(pending.get("delimiter") or "auto"),
        preset=preset.mapping if preset else None,
    )
    return services.preview_file(path, pending["kind"], options)


@bp.route("/imports/mapping", methods=["GET", "POST"])
@roles(*SALES)
def map_columns():
    """The preview: detected encoding and separator, the first rows, each column's field
    (guessed, or from a preset) to correct, then the import is queued."""
    pending = session.get(PENDING)
    if not pending:
        flash(_("Upload a file first."), "info")
        return redirect(url_for("imports.new_import"))
    preset = _chosen_preset(pending["kind"])
    try:
        preview = _preview(pending, preset)
    except (ImportAborted, ServiceError, OSError):
        session.pop(PENDING, None)
        flash(_("The uploaded file is no longer available; please upload it again."), "error")
        return redirect(url_for("imports.new_import"))
    families = ([(f.code, f"{f.code} · {f.name}") for f in deal_services.list_families()]
                if pending["kind"] == "deals" else None)
    form = mapping_form(preview.mapping.headers, target_choices(pending["kind"]), preview.mapping.targets,
                        families=families, date_order="dmy" if preview.day_first else "mdy")
    if form.validate_on_submit():
        job = _queue(pending, preview, [f.data for f in form.column_fields], form)
        if job is not None:
            return redirect(url_for("imports.show_import", job_id=job.id))
    columns = [
        (field, [values[i] if i < len(values) else "" for _line, values in preview.rows[:3]])
        for i, field in enumerate(form.column_fields)
    ]
    settings = ReadSettingsForm(formdata=None, encoding=pending.get("encoding") or "auto",
                                delimiter=pending.get("delimiter") or "auto")
    return render_template(
        "imports/mapping.html", form=form, pending=pending, columns=columns, preview=preview,
        settings=settings, presets=services.list_presets(current_user, pending["kind"]), preset=preset,
    ), (400 if request.method == "POST" else 200)


@bp.route("/imports/mapping/settings", methods=["POST"])
@roles(*SALES)
def change_read_settings():
    pending = session.get(PENDING)
    form = ReadSettingsForm()
    if pending and form.validate_on_submit():
        session[PENDING] = {**pending, "encoding": form.encoding.data, "delimiter": form.delimiter.data}
    return redirect(url_for("imports.map_columns"))


def _form_level_errors(form, exc: ServiceError) -> None:
    """The mapping page has one field per column: a refusal is shown above them all."""
    form.form_errors.append("; ".join(exc.fields.values()) or exc.message)


def _queue(pending: dict, preview, targets: list[str], form):
    headers = preview.mapping.headers
    try:
        mapping = finish_mapping(pending["kind"], headers, targets)
    except ImportAborted as exc:
        form.form_errors.append(str(exc))
        return None

    def queue():
        if form.preset_name.data:
            services.save_preset(current_user, kind=pending["kind"], name=form.preset_name.data,
                                 mapping=services.preset_from_mapping(mapping), now=utcnow())
        return services.queue_import(
            current_user, kind=pending["kind"], filename=pending["filename"],
            stored_name=pending["name"], on_duplicate=pending["on_duplicate"],
            encoding=preview.detected.encoding, delimiter=preview.detected.delimiter, mapping=mapping,
            now=utcnow(), day_first=form.date_order.data == "dmy",
            default_family=getattr(form, "default_family", None) and form.default_family.data or None,
        )

    job, _unused = commit_or_show_errors(form, queue, apply_errors=_form_level_errors)
    if job is None:
        return None
    session.pop(PENDING, None)
    flash(_("Import queued: it starts within a few seconds."), "success")
    return job


@bp.route("/imports/mapping/cancel", methods=["POST"])
@roles(*SALES)
def cancel_upload():
    _discard_pending()
    flash(_("Upload discarded."), "info")
    return redirect(url_for("imports.new_import"))


@bp.route("/imports/<int:job_id>")
@roles(*SALES)
def show_import(job_id: int):
    job = _job_or_404(job_id)
    rejections = services.rejections_page(job, page=int_arg("page") or 1)
    return render_template("imports/show.html", job=job, rejections=rejections)


@bp.route("/imports/<int:job_id>/status")
@roles(*SALES)
def import_status(job_id: int):
    job = _job_or_404(job_id)
    return jsonify({
        "status": job.status, "finished": job.status in ("done", "failed"),
        "bytes_read": job.bytes_read, "total_bytes": job.total_bytes, "rows_seen": job.rows_seen,
        "created": job.created_count, "updated": job.updated_count,
        "skipped": job.skipped_count, "rejected": job.rejected_count, "noted": job.noted_count or 0,
        "error": job.error,
    })


@bp.route("/imports/<int:job_id>/rejects.csv")
@roles(*SALES)
def download_rejects(job_id: int):
    job = _job_or_404(job_id)
    app = current_app._get_current_object()

    def rows(job_id: int):
        # Streamed a thousand rows at a time, in an app context of its own: the response
        # outlives the request's.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["line", "reason"])
        yield "\ufeff" + buffer.getvalue()  # the BOM makes Excel read UTF-8
        with app.app_context():
            for line, reason in services.iter_rejections(job_id):
                buffer.seek(0)
                buffer.truncate()
                writer.writerow([line, safe_cell(reason)])
                yield buffer.getvalue()

    return Response(
        rows(job.id), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-rejected-rows.csv"'},
    )
