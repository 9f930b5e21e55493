"""CSV imports for teams whose deals or order history live elsewhere: deals exported by another
CRM, and actual orders per family and month from the ERP. A file with any bad row changes
nothing; every bad row is listed with its line number."""
from __future__ import annotations

import logging

from flask import abort, current_app, render_template
from flask_babel import gettext as _  # the bridge reaches crm only by its port
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge

from planning_bridge import services
from planning_bridge.crm_port import ServiceError, db, roles, utcnow
from planning_bridge.imports import MAX_BYTES as IMPORT_MAX_BYTES
from planning_bridge.pages import PLANNERS, bp

log = logging.getLogger(__name__)

SNIFF_BYTES = 4096
SHOWN_REJECTIONS = 500  # a file can be wrong on every line; the first ones tell what to fix
IMPORTERS = {"deals": "import_deals_csv", "actuals": "import_actuals_csv"}
# How the kinds read on the page (the manifest's ``code_labels``).
CODE_LABELS = {"planning_import_kind": {"deals": _l("Deals"), "actuals": _l("Actuals")}}


class CsvUploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[
        FileRequired(_l("Choose a file.")),
        FileAllowed(["csv", "txt"], _l("Only .csv files can be imported (in Excel: Save as > CSV UTF-8).")),
    ])


def _forms() -> dict[str, CsvUploadForm]:
    return {kind: CsvUploadForm(prefix=kind) for kind in IMPORTERS}


def _limit_bytes() -> int:
    """The smaller of the app's upload limit and what the importer reads."""
    return min(current_app.config.get("MAX_CONTENT_LENGTH") or IMPORT_MAX_BYTES, IMPORT_MAX_BYTES)


def _render(forms, result=None, kind=None, status=200):
    limit_mb = _limit_bytes() // (1024 * 1024)
    return render_template("planning/imports.html", forms=forms, result=result, kind=kind,
                           limit_mb=limit_mb, shown=SHOWN_REJECTIONS), status


def _content_problem(upload) -> str | None:
    """Why an upload is not a CSV text file, or None."""
    head = upload.stream.read(SNIFF_BYTES)
    upload.stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return _("This is an Excel workbook, not CSV. In Excel use Save as > CSV UTF-8.")
    if b"\x00" in head:
        return _("This file is binary, not text: only CSV files can be imported.")
    return None


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_exc):
    forms = {kind: CsvUploadForm(prefix=kind, formdata=None) for kind in IMPORTERS}
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    size = f"{limit / 1048576:.0f} MB" if limit >= 1048576 else f"{max(limit // 1024, 1)} KB"
    for form in forms.values():
        form.file.errors = [_("The file is larger than the %(size)s limit.", size=size)]
    return _render(forms, status=413)


@bp.route("/imports")
@roles(*PLANNERS)
def imports():
    return _render(_forms())


@bp.route("/imports/<kind>", methods=["POST"])
@roles(*PLANNERS)
def upload(kind: str):
    if kind not in IMPORTERS:
        abort(404)
    forms = _forms()
    form = forms[kind]
    if not form.validate_on_submit():
        return _render(forms, kind=kind, status=400)
    upload_file = form.file.data
    problem = _content_problem(upload_file)
    if problem:
        form.file.errors.append(problem)
        return _render(forms, kind=kind, status=400)
    importer = getattr(services, IMPORTERS[kind])
    try:
        result = importer(upload_file.stream, now=utcnow())
    except ServiceError as exc:
        db.session.rollback()
        form.file.errors.append(exc.message)
        return _render(forms, kind=kind, status=400)
    if result.ok:
        db.session.commit()
        log.info("planning import of %s: %s rows by user %s", kind, result.accepted, current_user.id)
    else:
        db.session.rollback()
    return _render(forms, result=result, kind=kind, status=200 if result.ok else 422)
