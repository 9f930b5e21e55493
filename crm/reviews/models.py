"""Tables of conversation review: transcripts (one per recording, its lines), keyword trackers
and their hits, comments pinned to a second, rubrics and scorecards, the review state of a call
(reviewed, shared with the rep) and the library of clips.

Times inside a recording are seconds (float) from its start, as the player's ``currentTime``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.extensions import db
from crm.jsontype import JSONType
from crm.recordings.models import Recording
from crm.timeutil import UTCDateTime, utcnow

SPEAKERS = ("rep", "prospect")
SAID_BY = ("either", "rep", "prospect")
SCORING = ("mean", "weighted")


class Transcript(db.Model):
    __tablename__ = "review_transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    format: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str | None] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[TranscriptLine]] = relationship(
        back_populates="transcript", order_by="TranscriptLine.position", cascade="all, delete-orphan",
        passive_deletes=True)


class TranscriptLine(db.Model):
    """One cue. ``folded`` is the text accent- and case-folded (``transcripts.fold``): search and
    trackers match on it the same way on SQLite and PostgreSQL."""

    __tablename__ = "review_transcript_lines"
    __table_args__ = (
        Index("ix_review_transcript_lines_recording_start", "recording_id", "start_seconds"),
        CheckConstraint("speaker IS NULL OR speaker IN ('rep', 'prospect')", name="speaker"),
        CheckConstraint("end_seconds >= start_seconds", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("review_transcripts.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    start_seconds: Mapped[float] = mapped_column(Float)
    end_seconds: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(10))
    label: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    folded: Mapped[str] = mapped_column(Text)

    transcript: Mapped[Transcript] = relationship(back_populates="lines")


class Tracker(db.Model):
    """A keyword tracker: phrases counted in every transcript. Company-wide (as a competitor's
    name is): managers and admins define them, everyone in sales sees the marks on calls they
    may open."""

    __tablename__ = "review_trackers"
    __table_args__ = (CheckConstraint("said_by IN ('either', 'rep', 'prospect')", name="said_by"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    phrases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    said_by: Mapped[str] = mapped_column(String(10), default="either")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrackerHit(db.Model):
    """One tracker phrase found on one transcript line (``count`` times). Rebuilt for a recording
    when its transcript changes and for a tracker when its phrases change."""

    __tablename__ = "review_tracker_hits"
    __table_args__ = (Index("ix_review_tracker_hits_recording_tracker", "recording_id", "tracker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracker_id: Mapped[int] = mapped_column(ForeignKey("review_trackers.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("review_transcript_lines.id", ondelete="CASCADE"), index=True)
    at_seconds: Mapped[float] = mapped_column(Float)
    phrase: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer, default=1)


class CallReview(db.Model):
    """The review state of one recorded call: reviewed (by whom, when), shared with the rep.
    Until shared, comments and scorecards are the reviewer's draft; the rep sees them after."""

    __tablename__ = "review_call_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feedback: Mapped[str] = mapped_column(Text, default="")


class Comment(db.Model):
    __tablename__ = "review_comments"
    __table_args__ = (
        Index("ix_review_comments_recording_at", "recording_id", "at_seconds"),
        CheckConstraint("at_seconds >= 0", name="at_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("review_comments.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at_seconds: Mapped[float] = mapped_column(Float)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class Rubric(db.Model):
    __tablename__ = "review_rubrics"
    __table_args__ = (CheckConstraint("scoring IN ('mean', 'weighted')", name="scoring"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    scoring: Mapped[str] = mapped_column(String(10), default="mean")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="rubric", order_by="Criterion.position", cascade="all, delete-orphan", passive_deletes=True)


class Criterion(db.Model):
    __tablename__ = "review_rubric_criteria"
    __table_args__ = (CheckConstraint("weight > 0", name="weight_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("review_rubrics.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[float] = mapped_column(Float, default=1.0)

    rubric: Mapped[Rubric] = relationship(back_populates="criteria")


class Scorecard(db.Model):
    """One reviewer's scoring of one call on one rubric; ``score`` is kept so lists and
    averages need no recomputation (the mean or weighted mean of the ratings, 1-5)."""

    __tablename__ = "review_scorecards"
    __table_args__ = (UniqueConstraint("recording_id", "rubric_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("review_rubrics.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rubric: Mapped[Rubric] = relationship()
    reviewer: Mapped[User] = relationship()
    ratings: Mapped[list[Rating]] = relationship(
        back_populates="scorecard", cascade="all, delete-orphan", passive_deletes=True)


class Rating(db.Model):
    __tablename__ = "review_scorecard_ratings"
    __table_args__ = (
        UniqueConstraint("scorecard_id", "criterion_id"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("review_scorecards.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("review_rubric_criteria.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")

    scorecard: Mapped[Scorecard] = relationship(back_populates="ratings")
    criterion: Mapped[Criterion] = relationship()


class LibraryFolder(db.Model):
    __tablename__ = "review_library_folders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clips: Mapped[list[Clip]] = relationship(
        back_populates="folder", order_by="Clip.id", cascade="all, delete-orphan", passive_deletes=True)


class Clip(db.Model):
    """A span of a recording kept as an example. Reps play only the span (the clip route cuts
    it), not the rest of a colleague's call."""

    __tablename__ = "review_library_clips"
    __table_args__ = (
        CheckConstraint("start_seconds >= 0", name="start_not_negative"),
        CheckConstraint("end_seconds > start_seconds", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("review_library_folders.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    start_seconds: Mapped[float] = mapped_column(Float)
    end_seconds: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    folder: Mapped[LibraryFolder] = relationship(back_populates="clips")
    recording: Mapped[Recording] = relationship()
