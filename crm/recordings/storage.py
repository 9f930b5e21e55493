"""Where recordings live on disk and the content checks of an upload.

Recordings are a ``crm.filestore`` store in ``RECORDINGS_DIR``: an upload is streamed to a
``.part`` file (counted against ``RECORDING_MAX_BYTES`` and hashed), checked by decoding it
(``probe``), and renamed to its key only when the transaction adding its row commits; a
rollback removes it; whoever reads it next finishes a rename a dead process left (``settle_file``).

Files attached before this feature existed stay in ``instance/call-recordings/`` and are read
from there (``path_for``).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import soundfile
from flask import Flask, current_app
from sqlalchemy.orm import Session

from crm import filestore
from crm.errors import ServiceError, ValidationFailed
from crm.i18n import _

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
STORE = filestore.FileStore("recordings", "RECORDINGS_DIR", "recordings")

# libsndfile's major format -> ours, the content type we serve it with, and the file name
# extensions that mean it (a name saying another audio format than the content is refused).
FORMATS = {
    "WAV": ("wav", "audio/wav"), "WAVEX": ("wav", "audio/wav"), "RF64": ("wav", "audio/wav"),
    "FLAC": ("flac", "audio/flac"), "OGG": ("ogg", "audio/ogg"), "MP3": ("mp3", "audio/mpeg"),
}
EXTENSIONS = {"wav": "wav", "wave": "wav", "flac": "flac", "ogg": "ogg", "oga": "ogg", "opus": "ogg",
              "mp3": "mp3", "m4a": "m4a", "aac": "aac", "webm": "webm", "wma": "wma", "amr": "amr"}
DECLARED_TYPES = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
                  "audio/flac": "flac", "audio/x-flac": "flac", "audio/ogg": "ogg", "audio/opus": "ogg",
                  "application/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mp4": "m4a",
                  "audio/x-m4a": "m4a", "audio/aac": "aac", "audio/webm": "webm"}
# libsndfile's notes on a file whose end is missing (its header promised more).
TRUNCATION_NOTES = ("should be", "File ended unexpectedly", "lacks an end-of-stream")
MAX_SAMPLE_RATE = 192_000
PROBE_SECONDS = 0.5


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class Probe:
    format: str
    content_type: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class StoredUpload:
    part: Path
    key: str
    byte_size: int
    sha256: str
    probe: Probe


# --- configuration ---------------------------------------------------------------------------

def max_bytes() -> int:
    return int(current_app.config.get("RECORDING_MAX_BYTES", DEFAULT_MAX_BYTES))


def storage_dir() -> Path:
    return STORE.directory()


def legacy_dir() -> Path:
    return Path(current_app.config.get("INSTANCE_DIR", "instance")) / "call-recordings"


def path_for(key: str) -> Path | None:
    """The stored file of ``key``, or None if there is none (in the storage directory, else
    where recordings attached before this feature were kept)."""
    if not key or "/" in key or "\\" in key or key.startswith("."):
        return None
    for folder in (storage_dir(), legacy_dir()):
        if (folder / key).is_file():
            return folder / key
    return None


def part_path(key: str) -> Path:
    return STORE.part_path(key)


# --- checking the content ----------------------------------------------------------------------

def probe(path: Path) -> Probe:
    """Decode the start and the end of ``path``: ValidationFailed (field ``file``) unless it is
    a whole WAV, FLAC, OGG (Vorbis or Opus) or MP3 file of one or two channels."""
    try:
        with soundfile.SoundFile(str(path)) as audio:
            found = _checked(audio)
    except soundfile.LibsndfileError:
        raise ValidationFailed(_("unsupported file"), {
            "file": _("not audio we can read: send WAV, FLAC, OGG (Vorbis/Opus) or MP3")}) from None
    except (RuntimeError, ValueError, EOFError) as problem:
        raise ValidationFailed(
            _("unsupported file"),
            {"file": _("the audio could not be decoded: %(problem)s", problem=problem)}) from None
    return found


def _checked(audio: soundfile.SoundFile) -> Probe:
    if audio.format not in FORMATS:
        raise ValidationFailed(_("unsupported file"), {
            "file": _("%(format_info)s is not accepted: send WAV, FLAC, OGG (Vorbis/Opus) or MP3",
                      format_info=audio.format_info)})
    if audio.channels not in (1, 2) or not 0 < audio.samplerate <= MAX_SAMPLE_RATE:
        raise ValidationFailed(_("unsupported file"), {"file": _("one or two channels, at most 192 kHz")})
    head = audio.read(max(1, int(audio.samplerate * PROBE_SECONDS)), dtype="int16", always_2d=True)
    if audio.frames <= 0 or not len(head):
        raise ValidationFailed(_("empty recording"), {"file": _("the file holds no audio")})
    tail_start = max(audio.frames - audio.samplerate, 0)
    audio.seek(tail_start)
    tail = audio.read(audio.frames - tail_start, dtype="int16", always_2d=True)
    if len(tail) < audio.frames - tail_start or any(note in audio.extra_info for note in TRUNCATION_NOTES):
        raise ValidationFailed(_("truncated recording"), {"file": _("the file is cut short: its end is missing")})
    kind, content_type = FORMATS[audio.format]
    return Probe(kind, content_type, audio.samplerate, audio.channels, audio.frames)


def check_label(found: Probe, filename: str, declared_type: str) -> None:
    """A name or Content-Type naming another audio format than the content is refused: such a
    file was renamed or mislabelled somewhere, and serving it under its claim would break
    players. Names and types that claim no audio format (``.bin``, octet-stream) pass."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    named = EXTENSIONS.get(extension)
    declared = DECLARED_TYPES.get(declared_type.split(";")[0].strip().lower())
    for claim, says in ((named, f"its name says .{extension}"), (declared, f"it was sent as {declared_type}")):
        if claim is not None and claim != found.format:
            raise ValidationFailed(_("mislabelled recording"), {
                "file": _("the content is %(upper)s audio but %(says)s", upper=found.format.upper(), says=says)})


# --- writing ---------------------------------------------------------------------------------

def new_key(activity_id: int, audio_format: str) -> str:
    return f"{activity_id}-{secrets.token_hex(12)}.{audio_format}"


def store_upload(stream: IO[bytes], activity_id: int, filename: str, declared_type: str) -> StoredUpload:
    """Stream ``stream`` to a ``.part`` file, refuse it (removed) if too large, empty or not
    audio, and return it for ``register_pending`` once its row exists."""
    with STORE.receive(stream, max_bytes(), _too_large) as received:
        if received.byte_size == 0:
            raise ValidationFailed(_("empty recording"), {"file": _("the file is empty (0 bytes)")})
        found = probe(received.temporary)
        check_label(found, filename, declared_type)
        key = new_key(activity_id, found.format)
        part = STORE.keep(received, key)
    return StoredUpload(part, key, received.byte_size, received.sha256, found)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(_("recording too large"),
                           {"file": _("at most %(limit)s bytes (%(value)s)", limit=limit, value=_mb(limit))})


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def register_pending(session: Session, stored: StoredUpload) -> None:
    """Rename ``stored`` to its key when ``session`` commits; remove it if it rolls back."""
    STORE.register_pending(session, stored.key)


def settle_file(key: str) -> Path | None:
    """The committed file of ``key`` (where recordings attached before this feature were kept,
    too), finishing its rename if the uploading process stopped between commit and rename."""
    return path_for(key) or STORE.settle(key)


def remove(key: str | None) -> None:
    if key:
        found = path_for(key)
        if found is not None and found.parent == storage_dir():
            found.unlink(missing_ok=True)
        part_path(key).unlink(missing_ok=True)


def init(app: Flask) -> None:
    """Uploads follow their transaction (``crm.filestore``)."""
    filestore.init()
