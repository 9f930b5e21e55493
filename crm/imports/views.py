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

from crm.errors import NotFound, ServiceError
from crm.i18n import _ as gettext
from crm.imports import services
from crm.imports.csvsafe import safe_cell
from crm.imports.forms import UploadForm, mapping_form
from crm.imports.mapping import finish_mapping, target_choices
from crm.imports.reader import ImportAborted
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.formhelpers import commit_or_show_errors, int_arg

log = logging.getLogger(__name__)

bp = Blueprint("imports", __name__)

PENDING = "pending_import"
CSV_CONTENT_TYPES = {
    "text/csv", "application/csv", "text/x-csv", "text/comma-separated-values", "text/plain",
    # What browsers on Windows send for .csv when Excel is installed.
    "application/vnd.ms-excel",
}
SNIFF_BYTES = 4096


def _job_or_404(job_id: int):
    try:
        return services.get_job(current_user, job_id)
    except NotFound:
        abort(404)


def _content_problem(upload) -> str | None:
    """Why an upload is not a CSV file, or None."""
    content_type = (upload.mimetype or "").lower()
    if content_type not in CSV_CONTENT_TYPES:
        return f"The file was sent as {content_type or 'an unknown type'}, not as CSV."
    head = upload.stream.read(SNIFF_BYTES)
    upload.stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return "This is an Excel workbook renamed to .csv. In Excel use Save as > CSV UTF-8."
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "This file is binary, not text: only CSV files can be imported."
    return None


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_exc):
    limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) / 1024 / 1024
    form = UploadForm(formdata=None)
    form.file.errors = [f"The file is larger than the {limit_mb:.0f} MB limit. Split it, or ask an "
                        "administrator to import it from the command line."]
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
        problem = _content_problem(form.file.data)
        if problem:
            form.file.errors.append(problem)
        else:
            pending = _store_upload(form)
            if pending:
                return redirect(url_for("imports.map_columns"))
    recent = services.list_jobs(current_user, per_page=5).items
    status = 400 if request.method == "POST" else 200
    return render_template("imports/new.html", form=form, recent=recent), status


def _store_upload(form: UploadForm) -> dict | None:
    """Save the file under a random name and check its header; remember it in the session."""
    path = services.new_upload_path()
    form.file.data.save(path)
    try:
        services.inspect_file(path, form.kind.data, form.encoding.data)
    except ImportAborted as exc:
        path.unlink(missing_ok=True)
        form.file.errors.append(f"This file cannot be imported: {exc}")
        return None
    _discard_pending()
    session[PENDING] = {
        "name": path.name, "filename": (form.file.data.filename or "upload.csv")[:255],
        "kind": form.kind.data, "on_duplicate": form.on_duplicate.data,
        "encoding": form.encoding.data,
    }
    return session[PENDING]


def _discard_pending() -> None:
    pending = session.pop(PENDING, None)
    if pending:
        services.discard_upload(pending["name"])


@bp.route("/imports/mapping", methods=["GET", "POST"])
@roles(*SALES)
def map_columns():
    pending = session.get(PENDING)
    if not pending:
        flash(gettext("Upload a file first."), "info")
        return redirect(url_for("imports.new_import"))
    try:
        path = services.stored_file(pending["name"])
        detected = services.inspect_file(path, pending["kind"], pending["encoding"])
        samples = services.sample_rows(path, pending["encoding"])
    except (ImportAborted, ServiceError, OSError):
        session.pop(PENDING, None)
        flash(gettext("The uploaded file is no longer available; please upload it again."), "error")
        return redirect(url_for("imports.new_import"))
    form = mapping_form(detected.headers, target_choices(pending["kind"]), detected.targets)
    if form.validate_on_submit():
        job = _queue(pending, detected.headers, [f.data for f in form.column_fields], form)
        if job is not None:
            return redirect(url_for("imports.show_import", job_id=job.id))
    columns = [
        (field, [row[i] if i < len(row) else "" for row in samples])
        for i, field in enumerate(form.column_fields)
    ]
    return render_template(
        "imports/mapping.html", form=form, pending=pending, columns=columns,
    ), (400 if request.method == "POST" else 200)


def _form_level_errors(form, exc: ServiceError) -> None:
    """The mapping page has one field per column: a refusal is shown above them all."""
    form.form_errors.append("; ".join(exc.fields.values()) or exc.message)


def _queue(pending: dict, headers: list[str], targets: list[str], form):
    try:
        mapping = finish_mapping(pending["kind"], headers, targets)
    except ImportAborted as exc:
        form.form_errors.append(str(exc))
        return None
    job, _ = commit_or_show_errors(form, lambda: services.queue_import(
        current_user, kind=pending["kind"], filename=pending["filename"],
        stored_name=pending["name"], on_duplicate=pending["on_duplicate"],
        encoding=pending["encoding"], mapping=mapping, now=utcnow(),
    ), apply_errors=_form_level_errors)
    if job is None:
        return None
    session.pop(PENDING, None)
    flash(gettext("Import queued: it starts within a few seconds."), "success")
    return job


@bp.route("/imports/mapping/cancel", methods=["POST"])
@roles(*SALES)
def cancel_upload():
    _discard_pending()
    flash(gettext("Upload discarded."), "info")
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
        "skipped": job.skipped_count, "rejected": job.rejected_count, "error": job.error,
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
