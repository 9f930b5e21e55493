"""The hook for call recordings: attach an uploaded audio file (size- and type-checked, stored
under instance/call-recordings/) or an https URL from the phone system to a ``call``
activity. Listening, transcripts and review belong to the recordings feature."""
from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from crm.calls.models import CallRecording
from crm.contacts.models import Activity
from crm.errors import NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.policy import can_edit_owned
from crm.validation import as_id, check_web_url

# extension -> (accepted content types, magic-byte check)
AUDIO_TYPES = {
    "mp3": ({"audio/mpeg", "audio/mp3"},
            lambda head: head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")),
    "wav": ({"audio/wav", "audio/x-wav", "audio/wave"}, lambda head: head[:4] == b"RIFF" and head[8:12] == b"WAVE"),
    "ogg": ({"audio/ogg", "application/ogg"}, lambda head: head[:4] == b"OggS"),
    "m4a": ({"audio/mp4", "audio/x-m4a", "audio/m4a"}, lambda head: head[4:8] == b"ftyp"),
    "webm": ({"audio/webm"}, lambda head: head[:4] == b"\x1a\x45\xdf\xa3"),
}
MAX_URL = 2000


def max_bytes() -> int:
    return int(current_app.config.get("CALL_RECORDING_MAX_BYTES", 50 * 1024 * 1024))


def storage_dir() -> Path:
    return Path(current_app.config.get("INSTANCE_DIR", "instance")) / "call-recordings"


def call_activity(actor, activity_id) -> Activity:
    activity = db.session.get(Activity, as_id(activity_id)) if as_id(activity_id) else None
    if activity is None or activity.kind != "call":
        raise NotFound("no such call")
    caller = activity.user
    if not can_edit_owned(actor, activity.user_id, caller.manager_id if caller else None):
        raise PermissionDenied("only the caller, their manager or an admin may attach a recording")
    return activity


def validate_recording_url(url: str) -> str:
    """The app's one web-address check, and https only: the recording is fetched by browsers
    from a page served over https."""
    try:
        url = check_web_url(url, max_length=MAX_URL)
    except ValueError as problem:
        raise ValidationFailed("invalid recording URL",
                               {"url": f"an https:// URL without credentials: {problem}"}) from None
    if urlsplit(url).scheme.lower() != "https":
        raise ValidationFailed("invalid recording URL", {"url": "an https:// URL without credentials"})
    return url


def _read_upload(upload) -> tuple[bytes, str, str]:
    name = (getattr(upload, "filename", "") or "").lower()
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    if extension not in AUDIO_TYPES:
        raise ValidationFailed("unsupported file", {"file": "an audio file: " + ", ".join(AUDIO_TYPES)})
    types, looks_right = AUDIO_TYPES[extension]
    content_type = (getattr(upload, "mimetype", "") or "").lower()
    if content_type not in types:
        raise ValidationFailed("unsupported file", {"file": f"a .{extension} file must be sent as {sorted(types)[0]}"})
    limit = max_bytes()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise ValidationFailed("file too large", {"file": f"at most {limit // (1024 * 1024)} MB"})
    if not data or not looks_right(data[:16]):
        raise ValidationFailed("unsupported file", {"file": "the content is not the audio format its name says"})
    return data, extension, content_type


def attach_recording(activity_id, actor, *, now: datetime, upload=None, url: str | None = None) -> CallRecording:
    """Attach exactly one of ``upload`` (a werkzeug FileStorage-like object) or ``url``. Flushes;
    the file is written before the row so a row never points at a missing file."""
    activity = call_activity(actor, activity_id)
    if (upload is None) == (url is None):
        raise ValidationFailed("send a file or a URL", {"file": "a file or a URL, not both"})
    recording = CallRecording(activity_id=activity.id, created_by_id=actor.id, created_at=now)
    if url is not None:
        recording.source, recording.url = "url", validate_recording_url(url)
    else:
        data, extension, content_type = _read_upload(upload)
        folder = storage_dir()
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{activity.id}-{secrets.token_hex(8)}.{extension}"
        (folder / name).write_bytes(data)
        recording.source, recording.storage_path = "upload", name
        recording.content_type, recording.size_bytes = content_type, len(data)
    db.session.add(recording)
    db.session.flush()
    return recording
