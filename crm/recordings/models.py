"""Tables of the recordings feature: one ``Recording`` per call activity (the audio file, where
it is stored, and what the analysis found)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.contacts.models import Activity
from crm.extensions import db
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

# pending: stored, waiting for the worker; analysing: claimed by a worker (``progress`` counts);
# ready: analysed; failed: the file could not be analysed (``error`` says why); linked: only a
# URL at the phone system (recordings attached by URL before uploads existed): nothing stored,
# nothing analysed.
STATUSES = ("pending", "analysing", "ready", "failed", "linked")
# Which channel of a two-channel file is the rep; a one-channel file is always "mono".
CHANNEL_LAYOUTS = ("rep-left", "rep-right", "mono")
SOURCES = ("upload", "url")
FORMATS = ("wav", "flac", "ogg", "mp3")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Recording(db.Model):
    """The recording of one call activity. Times are seconds from the start of the audio
    (floats). ``segments`` holds the speech found per side, ``{"rep": [[start, end], ...],
    "prospect": [...]}`` for a two-channel file or ``{"speech": [...]}`` for mono, so the player
    can show who talks when; ``waveform`` is a list of peaks in 0..1, evenly spread over the
    duration (``WAVEFORM_POINTS`` in ``crm.recordings.analysis``)."""

    __tablename__ = "recordings"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("channels", CHANNEL_LAYOUTS), name="channels"),
        CheckConstraint(_in("source", SOURCES), name="source"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        # The worker claims the oldest pending recording: one index range scan.
        Index("ix_recordings_status_created", "status", "created_at"),
        Index("ix_recordings_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), unique=True)
    # The rep who made the call (the activity's author when the recording was attached).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(10), default="upload")
    source_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(default=0)  # percent of the file analysed
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channels: Mapped[str] = mapped_column(String(10), default="rep-left")

    original_filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    format: Mapped[str | None] = mapped_column(String(10))  # by content: wav, flac, ogg, mp3
    byte_size: Mapped[int | None] = mapped_column(BigInteger)
    storage_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    sample_rate: Mapped[int | None]
    channel_count: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The analysis (None until ready; the two-channel figures stay None for mono).
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    speech_share: Mapped[float | None] = mapped_column(Float)
    silence_share: Mapped[float | None] = mapped_column(Float)
    rep_speech_seconds: Mapped[float | None] = mapped_column(Float)
    prospect_speech_seconds: Mapped[float | None] = mapped_column(Float)
    talk_ratio_rep: Mapped[float | None] = mapped_column(Float)
    longest_monologue_rep_seconds: Mapped[float | None] = mapped_column(Float)
    longest_monologue_prospect_seconds: Mapped[float | None] = mapped_column(Float)
    prospect_longest_story_seconds: Mapped[float | None] = mapped_column(Float)
    switches_per_minute: Mapped[float | None] = mapped_column(Float)
    waveform: Mapped[list[float] | None] = mapped_column(JSONType)
    segments: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    activity: Mapped[Activity] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])

    @property
    def is_stereo(self) -> bool:
        return self.channels != "mono"

    @property
    def analysed(self) -> bool:
        return self.status == "ready"
