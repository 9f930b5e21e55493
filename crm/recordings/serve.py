"""HTTP plumbing shared by the recording pages and API: serving the stored audio with byte
ranges (werkzeug's conditional responses: 206 with Content-Range, Accept-Ranges, suffix ranges
``bytes=-n``, 416 beyond the end, ETag/If-Range) and raising the request size limit for the
upload routes alone (the app's MAX_CONTENT_LENGTH stays small for every other form)."""
from __future__ import annotations

from pathlib import Path

from flask import Response, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from crm.i18n import _
from crm.recordings import storage
from crm.recordings.models import Recording
from crm.web.access import json_error

# Room for the multipart envelope and the form's text fields around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024


def upload_body_limit() -> int:
    return storage.max_bytes() + FORM_OVERHEAD_BYTES


def upload_limit() -> None:
    """Call before touching ``request.form`` / ``request.files`` in an upload page route."""
    request.max_content_length = upload_body_limit()


def send_audio(recording: Recording, path: Path) -> Response:
    try:
        response = send_file(path, mimetype=recording.content_type or "application/octet-stream", conditional=True,
                             etag=recording.sha256 or True, max_age=0, download_name=path.name)
    except RequestedRangeNotSatisfiable:
        # answered here: the error handlers would drop the Content-Range the player needs
        size = path.stat().st_size
        response = json_error(416, "range_not_satisfiable", _("the file has %(size)s bytes",
                                                              size=size), {"range": f"0-{size - 1}"})
        response.headers["Content-Range"] = f"bytes */{size}"
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-cache"  # a call is personal data: no shared caches
    return response
