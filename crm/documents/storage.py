"""Where documents and videos live on disk, and the content checks of an upload.

Documents are a ``crm.filestore`` store in ``DOCUMENTS_DIR``: an upload is streamed to a
hidden ``.part`` file (counted against the limit and hashed), checked by its content (a PDF
that pdfium opens, an MP4/WebM that ffprobe reads), and renamed to its key only when the
transaction adding its row commits; a rollback removes it. The worker finishes a rename the
uploading process did not get to (``settle``).
Derived files (page images, posters) are written by the worker, under ``<item id>/``.
"""
from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pypdfium2
from flask import Flask, current_app
from sqlalchemy.orm import Session

from crm import filestore
from crm.errors import ServiceError, ValidationFailed
from crm.i18n import _

STORE = filestore.FileStore("documents", "DOCUMENTS_DIR", "documents")
DEFAULT_DOCUMENT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_VIDEO_MAX_BYTES = 500 * 1024 * 1024
DEFAULT_IMAGE_MAX_BYTES = 5 * 1024 * 1024
FFPROBE_SECONDS = 30
VIDEO_FORMATS = {"mp4": "video/mp4", "webm": "video/webm"}
IMAGE_FORMATS = {"png": "image/png", "jpeg": "image/jpeg"}


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class StoredUpload:
    part: Path
    key: str
    byte_size: int
    sha256: str
    format: str
    content_type: str
    page_count: int | None = None
    duration_seconds: float | None = None


# --- configuration ---------------------------------------------------------------------------

def storage_dir() -> Path:
    return STORE.directory()


def max_bytes(kind: str) -> int:
    if kind == "video":
        return int(current_app.config.get("VIDEO_MAX_BYTES", DEFAULT_VIDEO_MAX_BYTES))
    if kind == "image":
        return DEFAULT_IMAGE_MAX_BYTES
    return int(current_app.config.get("DOCUMENT_MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES))


def path_for(key: str | None) -> Path | None:
    """The stored file of ``key`` (``name`` or ``<id>/pages/<n>.png``), or None."""
    if not key or "\\" in key or key.startswith(("/", ".")) or ".." in key.split("/"):
        return None
    found = storage_dir() / key
    return found if found.is_file() else None


def part_path(key: str) -> Path:
    return STORE.part_path(key)


def derived_dir(item_id: int) -> Path:
    return storage_dir() / str(item_id)


# --- checking the content ----------------------------------------------------------------------

def check_pdf(path: Path) -> int:
    """The page count of the PDF at ``path``; ValidationFailed (field ``file``) unless pdfium
    opens it without a password and it has pages."""
    with open(path, "rb") as head:
        if not head.read(1024).lstrip().startswith(b"%PDF-"):
            raise ValidationFailed(_("unsupported file"), {"file": _("not a PDF document")})
    try:
        pdf = pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as problem:
        reason = _("it is protected by a password") if "password" in str(problem).lower() else str(problem)
        raise ValidationFailed(_("unsupported file"), {"file": _("the PDF cannot be opened: %(why)s",
                                                                  why=reason)}) from None
    try:
        pages = len(pdf)
    finally:
        pdf.close()
    if pages == 0:
        raise ValidationFailed(_("empty document"), {"file": _("the PDF has no pages")})
    return pages


def _sniff_video(path: Path) -> str | None:
    with open(path, "rb") as head:
        start = head.read(64)
    if len(start) >= 12 and start[4:8] == b"ftyp":
        return "mp4"
    if start.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in start:
        return "webm"
    return None


def ffprobe(path: Path) -> dict:
    """ffprobe's JSON on ``path`` (streams and format), or ValidationFailed."""
    try:
        done = subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            capture_output=True, timeout=FFPROBE_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as problem:
        raise ValidationFailed(_("unsupported file"), {"file": _("the video could not be read: %(why)s",
                                                                  why=str(problem))}) from None
    if done.returncode != 0:
        raise ValidationFailed(_("unsupported file"), {"file": _("the video could not be decoded")})
    return json.loads(done.stdout or b"{}")


def check_video(path: Path) -> tuple[str, float | None]:
    """(format, duration) of an MP4 or WebM file with a video stream, else ValidationFailed."""
    found = _sniff_video(path)
    if found is None:
        raise ValidationFailed(_("unsupported file"), {"file": _("send an MP4 or WebM video")})
    probe = ffprobe(path)
    if not any(s.get("codec_type") == "video" for s in probe.get("streams", [])):
        raise ValidationFailed(_("unsupported file"), {"file": _("the file holds no video stream")})
    try:
        duration = float(probe.get("format", {}).get("duration"))
    except (TypeError, ValueError):
        duration = None
    return found, duration


def check_image(path: Path) -> str:
    with open(path, "rb") as head:
        start = head.read(8)
    if start.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if start.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    raise ValidationFailed(_("unsupported file"), {"thumbnail": _("a PNG or JPEG image")})


# --- writing ---------------------------------------------------------------------------------

def store_upload(stream: IO[bytes], kind: str, field: str = "file") -> StoredUpload:
    """Stream ``stream`` to a ``.part`` file, refuse it (removed) if too large, empty or not what
    ``kind`` (document, video, image) says, and return it for ``register_pending``."""
    def too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(_("file too large"), {field: _("at most %(n)s MB", n=limit // (1024 * 1024))})

    with STORE.receive(stream, max_bytes(kind), too_large) as received:
        if received.byte_size == 0:
            raise ValidationFailed(_("empty file"), {field: _("the file is empty (0 bytes)")})
        found, content_type, pages, duration = _checked(received.temporary, kind)
        key = f"{secrets.token_hex(16)}.{'jpg' if found == 'jpeg' else found}"
        part = STORE.keep(received, key)
    return StoredUpload(part, key, received.byte_size, received.sha256, found, content_type, pages, duration)


def _checked(path: Path, kind: str) -> tuple[str, str, int | None, float | None]:
    """(format, content type, pages, duration) of an upload of ``kind``, else ValidationFailed."""
    if kind == "document":
        return "pdf", "application/pdf", check_pdf(path), None
    if kind == "video":
        found, duration = check_video(path)
        return found, VIDEO_FORMATS[found], None, duration
    found = check_image(path)
    return found, IMAGE_FORMATS[found], None, None


def register_pending(session: Session, stored: StoredUpload) -> None:
    """Rename ``stored`` to its key when ``session`` commits; remove it if it rolls back."""
    STORE.register_pending(session, stored.key)


def settle(key: str | None) -> Path | None:
    """The committed file of ``key``, finishing its rename if the uploading process stopped
    between the commit and the rename."""
    return STORE.settle(key)


def remove_item_files(item_id: int, keys: list[str | None]) -> None:
    for key in keys:
        STORE.discard(key)
    shutil.rmtree(derived_dir(item_id), ignore_errors=True)


def init(app: Flask) -> None:
    """Uploads follow their transaction (``crm.filestore``)."""
    filestore.init()
