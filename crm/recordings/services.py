"""The public face of the recordings feature: who may listen to which recording and the
recordings a user may see; attaching a recording to a call (an upload checked by content, or
the phone system's URL); the worker's side of the analysis. Services flush, never commit."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, and_, false, func, or_, select, update

from crm.auth.models import User
from crm.contacts.models import Activity
from crm.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.policy import SALES_ROLES, can_edit_owned
from crm.recordings import analysis, storage
from crm.recordings.models import CHANNEL_LAYOUTS, Recording
from crm.validation import as_id, check_web_url

MAX_URL = 2000
# A worker that has not written progress for this long is taken for dead: its recording is
# claimed again (a decode of an hour writes progress every block, every second or so).
STALE_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3
ANALYSIS_FIELDS = (
    "duration_seconds", "talk_ratio_rep", "longest_monologue_rep_seconds", "longest_monologue_prospect_seconds",
    "prospect_longest_story_seconds", "switches_per_minute", "silence_share", "speech_share",
    "rep_speech_seconds", "prospect_speech_seconds",
)


def can_listen(actor: User, recording: Recording) -> bool:
    """The rep who made the call, their manager (``users.manager_id``) and admins. Planners
    never: a call is personal data."""
    if actor.role == "admin":
        return True
    if actor.role not in SALES_ROLES or recording.user_id is None:
        return False
    if recording.user_id == actor.id:
        return True
    return actor.role == "manager" and recording.user is not None and recording.user.manager_id == actor.id


def visible_recordings(actor: User) -> Select:
    """``select(Recording)`` limited to the recordings ``actor`` may listen to (same rule as
    ``can_listen``); callers add their own filters, order and pagination."""
    query = select(Recording)
    if actor.role == "admin":
        return query
    if actor.role not in SALES_ROLES:
        return query.where(false())
    mine = Recording.user_id == actor.id
    if actor.role == "manager":
        team = select(User.id).where(User.manager_id == actor.id)
        return query.where(or_(mine, Recording.user_id.in_(team)))
    return query.where(mine)


def filter_recordings(query: Select, *, call_id: int | None = None, status: str | None = None,
                      user_id: int | None = None) -> Select:
    """``query`` (from ``visible_recordings``) narrowed, newest first."""
    if call_id is not None:
        query = query.where(Recording.activity_id == call_id)
    if status is not None:
        query = query.where(Recording.status == status)
    if user_id is not None:
        query = query.where(Recording.user_id == user_id)
    return query.order_by(Recording.created_at.desc(), Recording.id.desc())


def require_listener_role(actor: User) -> None:
    if actor.role not in SALES_ROLES:
        raise PermissionDenied(_("recordings are for sales users"))


def recording_for(actor: User, recording_id) -> Recording:
    """The recording ``actor`` may listen to. Planners: PermissionDenied; a recording that does
    not exist or is not theirs to hear: NotFound (whether it exists is not theirs to know)."""
    require_listener_role(actor)
    recording_id = as_id(recording_id)
    recording = db.session.get(Recording, recording_id) if recording_id else None
    if recording is None or not can_listen(actor, recording):
        raise NotFound(_("no such recording"))
    return recording


def recording_for_call(actor: User, activity_id) -> Recording | None:
    """The recording of call activity ``activity_id`` if there is one ``actor`` may hear."""
    activity_id = as_id(activity_id)
    if not activity_id or actor.role not in SALES_ROLES:
        return None
    recording = db.session.scalar(select(Recording).where(Recording.activity_id == activity_id))
    return recording if recording is not None and can_listen(actor, recording) else None


# --- attaching recordings to calls -----------------------------------------------------------

def call_activity(actor: User, activity_id) -> Activity:
    """The call activity ``actor`` may attach a recording to: the caller, their manager, an
    admin (``crm.policy.can_edit_owned`` on the call's author)."""
    activity_id = as_id(activity_id)
    activity = db.session.get(Activity, activity_id) if activity_id else None
    if activity is None or activity.kind != "call":
        raise NotFound(_("no such call"), {"call_id": _("no call activity with this id")})
    caller = activity.user
    if not can_edit_owned(actor, activity.user_id, caller.manager_id if caller else None):
        raise PermissionDenied(_("only the caller, their manager or an admin may attach a recording"))
    return activity


def check_layout(channels: str | None) -> str | None:
    if channels in (None, ""):
        return None
    if channels not in CHANNEL_LAYOUTS:
        raise ValidationFailed(_("invalid channel layout"),
                               {"channels": _("one of %(choices)s", choices=", ".join(CHANNEL_LAYOUTS))})
    return channels


def _replaceable(activity: Activity) -> Recording | None:
    """The call's recording a new upload may take over: only a bare URL (``linked``)."""
    existing = db.session.scalar(select(Recording).where(Recording.activity_id == activity.id))
    if existing is not None and existing.status != "linked":
        raise Conflict(_("this call already has a recording"), {"file": _("this call already has a recording")})
    return existing


def upload_recording(actor: User, call_id, upload, *, now: datetime, channels: str | None = None) -> Recording:
    """Store ``upload`` (a werkzeug ``FileStorage``-like object: ``stream``, ``filename``,
    ``mimetype``) as the recording of call ``call_id``, pending analysis. The file is checked
    by decoding it (``storage.probe``) and renamed into place when the caller commits; nothing
    stays behind if anything fails. ``channels``: ``rep-left`` (default for two channels),
    ``rep-right`` or ``mono``; a one-channel file is always ``mono``. Flushes."""
    layout = check_layout(channels)
    activity = call_activity(actor, call_id)
    if upload is None or not getattr(upload, "filename", ""):
        raise ValidationFailed(_("no file"), {"file": _("required: an audio file")})
    recording = _replaceable(activity) or Recording(activity_id=activity.id)
    filename = (getattr(upload, "filename", "") or "")[:255]
    stored = storage.store_upload(upload.stream, activity.id, filename, getattr(upload, "mimetype", "") or "")
    try:
        _fill_upload(recording, activity, actor, stored, filename, layout, now)
        db.session.add(recording)
        db.session.flush()
    except BaseException:
        stored.part.unlink(missing_ok=True)
        raise
    storage.register_pending(db.session(), stored)
    return recording


def _fill_upload(recording: Recording, activity: Activity, actor: User, stored: storage.StoredUpload,
                 filename: str, layout: str | None, now: datetime) -> None:
    found = stored.probe
    recording.user_id, recording.uploaded_by_id = activity.user_id, actor.id
    recording.source, recording.status, recording.progress, recording.error = "upload", "pending", 0, None
    recording.attempts, recording.heartbeat_at = 0, None
    recording.channels = "mono" if found.channels == 1 else (layout or "rep-left")
    recording.original_filename, recording.content_type, recording.format = filename or None, \
        found.content_type, found.format
    recording.byte_size, recording.storage_key, recording.sha256 = stored.byte_size, stored.key, stored.sha256
    recording.sample_rate, recording.channel_count = found.sample_rate, found.channels
    recording.duration_seconds = round(found.duration_seconds, 3)
    recording.created_at = now


def attach_recording_url(actor: User, call_id, url: str, *, now: datetime) -> Recording:
    """Link call ``call_id`` to its recording at the phone system (https only): ``linked``,
    nothing stored or analysed; an upload may replace it later. Flushes."""
    activity = call_activity(actor, call_id)
    recording = _replaceable(activity) or Recording(activity_id=activity.id)
    recording.source_url = validate_recording_url(url)
    recording.source, recording.status, recording.channels = "url", "linked", "rep-left"
    recording.user_id, recording.uploaded_by_id, recording.created_at = activity.user_id, actor.id, now
    db.session.add(recording)
    db.session.flush()
    return recording


def validate_recording_url(url: str) -> str:
    """The app's one web-address check, and https only: the recording is opened by browsers
    from a page served over https."""
    try:
        url = check_web_url(url, max_length=MAX_URL)
    except ValueError as problem:
        raise ValidationFailed(_("invalid recording URL"),
                               {"url": _("an https:// URL without credentials: %(problem)s",
                                         problem=problem)}) from None
    if urlsplit(url).scheme.lower() != "https":
        raise ValidationFailed(_("invalid recording URL"), {"url": _("an https:// URL without credentials")})
    return url


def recorded_call_ids(actor: User, activity_ids: list[int]) -> dict[int, int]:
    """Of ``activity_ids``, the calls with a recording ``actor`` may hear: activity id ->
    recording id (for the Calls panel's badge)."""
    if not activity_ids:
        return {}
    query = visible_recordings(actor).where(Recording.activity_id.in_(activity_ids))
    return {r.activity_id: r.id for r in db.session.scalars(query)}


def audio_file(actor: User, recording_id) -> tuple[Recording, Path]:
    """The recording and its stored file, for serving. NotFound when there is no file (a
    linked URL, or one still being written)."""
    recording = recording_for(actor, recording_id)
    found = storage.path_for(recording.storage_key) if recording.storage_key else None
    if found is None:
        raise NotFound(_("this recording has no stored audio"), {"audio": _("not stored here")})
    return recording, found


# --- analysis (the worker's side) --------------------------------------------------------------

def claim_next_pending(now: datetime) -> Recording | None:
    """Mark the oldest pending recording (or one whose worker stopped beating for
    ``STALE_AFTER``) ``analysing``, one more attempt, and return it; the caller commits at
    once. PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two workers never take the same one;
    elsewhere a conditional UPDATE that must change exactly one row."""
    claimable = or_(Recording.status == "pending",
                    and_(Recording.status == "analysing", Recording.heartbeat_at < now - STALE_AFTER))
    oldest = select(Recording).where(claimable).order_by(Recording.created_at, Recording.id).limit(1)
    if db.engine.dialect.name == "postgresql":
        recording = db.session.scalar(oldest.with_for_update(skip_locked=True))
        if recording is None:
            return None
        recording.status, recording.heartbeat_at, recording.attempts = "analysing", now, recording.attempts + 1
        db.session.flush()
        return recording
    for candidate in db.session.scalars(oldest.limit(10)):
        claimed = db.session.execute(
            update(Recording).where(Recording.id == candidate.id, Recording.status == candidate.status,
                                    Recording.attempts == candidate.attempts)
            .values(status="analysing", heartbeat_at=now, attempts=Recording.attempts + 1)
            .execution_options(synchronize_session=False))
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            db.session.refresh(candidate)
            return candidate
    return None


def record_progress(recording_id: int, attempt: int, percent: int, now: datetime) -> bool:
    """Write the progress of attempt ``attempt``; False if the claim was lost (another
    worker took the recording over). Flushes."""
    changed = db.session.execute(
        update(Recording).where(Recording.id == recording_id, Recording.attempts == attempt,
                                Recording.status == "analysing")
        .values(progress=max(0, min(percent, 100)), heartbeat_at=now).execution_options(synchronize_session=False))
    return changed.rowcount == 1  # type: ignore[attr-defined]


def analysis_source(recording: Recording) -> Path:
    """The file to analyse (finishing an interrupted rename), or UnreadableAudio."""
    found = storage.settle_file(recording.storage_key) if recording.storage_key else None
    if found is None:
        raise analysis.UnreadableAudio("the stored file is missing")
    return found


def save_analysis(recording: Recording, result: analysis.Analysis, now: datetime) -> Recording:
    """Store what the analysis found; the recording is ``ready``. Flushes."""
    for name in ANALYSIS_FIELDS:
        setattr(recording, name, getattr(result, name))
    recording.sample_rate, recording.channel_count = result.sample_rate, result.channel_count
    if result.channel_count == 1:
        recording.channels = "mono"
    recording.waveform, recording.segments = result.waveform, {k: [list(s) for s in v] for k, v in
                                                               result.segments.items()}
    recording.status, recording.progress, recording.error, recording.analysed_at = "ready", 100, None, now
    db.session.flush()
    return recording


def fail_analysis(recording: Recording, reason: str, now: datetime) -> Recording:
    recording.status, recording.error, recording.analysed_at = "failed", reason[:1000], now
    db.session.flush()
    return recording


def retry_analysis(actor: User, recording_id, now: datetime) -> Recording:
    """Queue a failed recording's analysis again (the caller, their manager, an admin)."""
    recording = recording_for(actor, recording_id)
    if recording.status != "failed" or not recording.storage_key:
        raise Conflict(_("only a failed upload can be analysed again"), {"status": recording.status})
    recording.status, recording.error, recording.progress, recording.attempts = "pending", None, 0, 0
    recording.heartbeat_at = None
    db.session.flush()
    return recording


def pending_count() -> int:
    return db.session.scalar(select(func.count(Recording.id)).where(Recording.status == "pending")) or 0


def analysis_summary(recording: Recording) -> dict[str, Any] | None:
    """The analysis as the API and pages show it (None until ready)."""
    if recording.status != "ready":
        return None
    summary = {name: getattr(recording, name) for name in ANALYSIS_FIELDS}
    summary["waveform_points"] = len(recording.waveform or [])
    return summary
