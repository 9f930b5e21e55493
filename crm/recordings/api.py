"""JSON API of the recordings feature (``routes``, mounted on /api/v1 from the manifest): upload
a call's recording (multipart), read it with its analysis, fetch its audio with byte ranges.
Thin callers of ``crm.recordings.services``."""
from __future__ import annotations

from typing import Literal

from flask import request
from pydantic import BaseModel, ConfigDict, Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, QueryModel, UtcDateTime
from crm.extensions import db
from crm.recordings import services
from crm.recordings.models import CHANNEL_LAYOUTS, STATUSES
from crm.recordings.serve import send_audio, upload_body_limit
from crm.timeutil import utcnow
from crm.web.access import SALES, roles
from crm.web.pagination import paginate

routes = ApiRoutes()

Layout = Literal[CHANNEL_LAYOUTS]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]


class UploadForm(BaseModel):
    model_config = ConfigDict(extra="forbid")  # form fields arrive as text: numbers are parsed

    call_id: Id = Field(description="the call activity the recording belongs to")
    channels: Layout | None = Field(None, description="two-channel files: which side is the rep "
                                                      "(default rep-left); one-channel files are mono")


class CreatedOut(OutModel):
    id: int
    status: Status


class AnalysisOut(OutModel):
    duration_seconds: float
    talk_ratio_rep: float | None = Field(description="rep speech / (rep + prospect speech); null for mono")
    longest_monologue_rep_seconds: float | None
    longest_monologue_prospect_seconds: float | None
    prospect_longest_story_seconds: float | None = Field(
        description="the prospect's longest turn, the rep's interjections under 2 s not ending it")
    switches_per_minute: float | None
    silence_share: float = Field(description="share of the call where nobody speaks, 0..1")
    speech_share: float
    rep_speech_seconds: float | None
    prospect_speech_seconds: float | None
    waveform: list[float] = Field(description="peaks in 0..1 spread evenly over the duration")
    segments: dict[str, list[list[float]]] = Field(
        description='speech as [start, end] seconds: {"rep", "prospect"} or, mono, {"speech"}')


class RecordingOut(OutModel):
    id: int
    call_id: int
    user_id: int | None = Field(description="the rep who made the call")
    uploaded_by_id: int | None
    status: Status
    progress: int = Field(description="percent analysed")
    error: str | None
    channels: Layout
    source_url: str | None = Field(description="linked recordings: the phone system's URL")
    original_filename: str | None
    content_type: str | None
    format: str | None
    byte_size: int | None
    sha256: str | None
    sample_rate: int | None
    channel_count: int | None
    duration_seconds: float | None
    created_at: UtcDateTime
    analysed_at: UtcDateTime | None
    audio_url: str | None
    analysis: AnalysisOut | None


class RecordingQuery(QueryModel):
    call_id: Id | None = Field(None, description="only this call's recording")
    status: Status | None = None
    user_id: Id | None = Field(None, description="only this rep's calls")


class RecordingPage(OutModel):
    items: list[RecordingOut]
    page: int
    per_page: int
    total: int
    pages: int


def recording_out(recording) -> RecordingOut:
    summary = services.analysis_summary(recording)
    analysis = AnalysisOut(**{k: v for k, v in summary.items() if k in AnalysisOut.model_fields},
                           waveform=recording.waveform or [], segments=recording.segments or {}) if summary else None
    return RecordingOut(
        id=recording.id, call_id=recording.activity_id, user_id=recording.user_id,
        uploaded_by_id=recording.uploaded_by_id, status=recording.status, progress=recording.progress,
        error=recording.error, channels=recording.channels, source_url=recording.source_url,
        original_filename=recording.original_filename, content_type=recording.content_type,
        format=recording.format, byte_size=recording.byte_size, sha256=recording.sha256,
        sample_rate=recording.sample_rate, channel_count=recording.channel_count,
        duration_seconds=recording.duration_seconds, created_at=recording.created_at,
        analysed_at=recording.analysed_at,
        audio_url=f"/api/v1/recordings/{recording.id}/audio" if recording.storage_key else None,
        analysis=analysis,
    )


@routes.post("/recordings")
@roles(*SALES)
@endpoint("Upload a call's recording", form=UploadForm, files=("file",), form_limit=upload_body_limit,
          response=CreatedOut, status=201,
          description="WAV, FLAC, OGG (Vorbis/Opus) or MP3, checked by decoding it (not by its name); at most "
                      "RECORDING_MAX_BYTES (413 beyond). Analysed by the worker a few seconds later: poll "
                      "GET /recordings/{id} until status is ready.")
def upload_recording(form: UploadForm):
    recording = services.upload_recording(api_user(), form.call_id, request.files.get("file"), now=utcnow(),
                                          channels=form.channels)
    db.session.commit()
    return CreatedOut(id=recording.id, status=recording.status)


@routes.get("/recordings")
@roles(*SALES)
@endpoint("List the recordings I may hear", query=RecordingQuery, response=RecordingPage,
          description="Reps: their own calls'; managers: also their team's; admins: all.")
def list_recordings(query: RecordingQuery):
    found = services.visible_recordings(api_user())
    found = services.filter_recordings(found, call_id=query.call_id, status=query.status, user_id=query.user_id)
    page = paginate(found, **page_args(query))
    return RecordingPage(items=[recording_out(r) for r in page.items], page=page.page, per_page=page.per_page,
                         total=page.total, pages=page.pages)


@routes.get("/recordings/<int:recording_id>")
@roles(*SALES)
@endpoint("Read a recording and its analysis", response=RecordingOut)
def get_recording(recording_id: int):
    return recording_out(services.recording_for(api_user(), recording_id))


@routes.get("/recordings/<int:recording_id>/audio")
@roles(*SALES)
@endpoint("Fetch a recording's audio", media_type="audio/*", extra_statuses=(206, 416),
          description="Byte ranges (Range: bytes=a-b, bytes=a-, bytes=-n) answer 206 with Content-Range; "
                      "a range beyond the end answers 416.")
def get_recording_audio(recording_id: int):
    recording, path = services.audio_file(api_user(), recording_id)
    return send_audio(recording, path)
