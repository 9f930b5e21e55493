"""The audio of a library clip: only the clip's span, cut from the recording into a WAV once and
kept in a cache directory (``REVIEW_CLIPS_DIR``, default ``<instance>/review-clips``).

Why cut rather than send the recording with a start/end hint: a rep may play a clip of a
colleague's call, and the library grants the clip, not the call; a hint the browser honours
would still hand over the whole file. The cut reads only the span's frames (``soundfile``
seeks), so a clip from an hour-long call costs its own length in memory, at most
``services.MAX_CLIP_SECONDS``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import soundfile
from flask import current_app

from crm.errors import NotFound
from crm.i18n import _
from crm.recordings import services as recordings
from crm.recordings.models import Recording
from crm.reviews.models import Clip


def audio_path(recording: Recording) -> Path | None:
    """The recording's stored file, whoever asks: the library, not the call, grants the clip."""
    try:
        return recordings.analysis_source(recording)
    except recordings.analysis.UnreadableAudio:  # no stored file (a linked URL, or it went missing)
        return None


def cache_dir() -> Path:
    configured = current_app.config.get("REVIEW_CLIPS_DIR")
    base = Path(configured) if configured else Path(current_app.config.get("INSTANCE_DIR", "instance")) / "review-clips"
    base.mkdir(parents=True, exist_ok=True)
    return base


def clip_file(clip: Clip) -> Path:
    """The clip's WAV, cut now if not cached (the name carries the span, so an edited clip or a
    replaced recording never serves a stale cut)."""
    target = cache_dir() / f"clip-{clip.id}-{clip.recording_id}-{clip.start_seconds:.3f}-{clip.end_seconds:.3f}.wav"
    if target.exists():
        return target
    source = audio_path(clip.recording)
    if source is None:
        raise NotFound(_("the recording's audio is not available"))
    cut(source, clip.start_seconds, clip.end_seconds, target)
    return target


def cut(source: Path, start: float, end: float, target: Path) -> None:
    """Write ``source``'s frames [start, end) to ``target`` as 16-bit WAV, atomically (a temporary
    name renamed once complete, so a half-written cut is never served)."""
    with soundfile.SoundFile(str(source)) as audio:
        rate = audio.samplerate
        first = min(int(round(start * rate)), audio.frames)
        last = min(int(round(end * rate)), audio.frames)
        audio.seek(first)
        frames = audio.read(max(0, last - first), dtype="int16", always_2d=True)
        channels = audio.channels
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".cut-", suffix=".wav")
    os.close(handle)
    try:
        with soundfile.SoundFile(temporary, "w", samplerate=rate, channels=channels, format="WAV",
                                 subtype="PCM_16") as out:
            out.write(frames)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
