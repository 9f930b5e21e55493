"""JSON API of conversation review (``routes``, mounted on /api/v1 from the manifest): a call's
comments, scorecards, transcript and tracker hits under ``/recordings/{id}/...``; trackers,
rubrics, library folders and clips; the review queue. Managers and admins write reviews; a rep
reads the shared review of their own calls (and replies); planners get 403 everywhere."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, QueryModel, StrictModel, Text, UtcDateTime
from crm.errors import NotFound
from crm.extensions import db
from crm.i18n import _ as gettext
from crm.reviews import inputs, services
from crm.reviews.transcripts import MAX_BYTES
from crm.timeutil import utcnow
from crm.web.access import SALES, roles

routes = ApiRoutes()
REVIEWERS = ("manager", "admin")


# --- models ----------------------------------------------------------------------------------

class CommentIn(StrictModel):
    at_seconds: float | None = Field(None, ge=0, le=inputs.MAX_SECONDS,
                                     description="seconds from the start; required unless `parent_id` is given "
                                                 "(a reply sits where its parent does); beyond the end: 422")
    body: Text(inputs.MAX_BODY, min_length=1)
    parent_id: Id | None = Field(None, description="reply to this comment")


class CommentOut(OutModel):
    id: int
    parent_id: int | None
    at_seconds: float
    body: str
    author_id: int | None
    author_name: str | None
    created_at: UtcDateTime


class ThreadOut(CommentOut):
    replies: list[CommentOut]


class CommentList(BaseModel):
    items: list[ThreadOut]


class RatingIn(StrictModel):
    criterion_id: Id
    rating: int = Field(ge=1, le=5)
    note: Text(2000) = ""


class ScorecardIn(StrictModel):
    rubric_id: Id
    ratings: list[RatingIn] = Field(min_length=1, max_length=inputs.MAX_CRITERIA)


class RatingOut(OutModel):
    criterion_id: int
    criterion: str
    rating: int
    note: str


class ScorecardOut(OutModel):
    id: int
    rubric_id: int
    rubric: str
    reviewer_id: int
    reviewer_name: str
    score: float = Field(description="mean (or weighted mean) of the ratings, 1-5")
    updated_at: UtcDateTime
    ratings: list[RatingOut]


class ScorecardList(BaseModel):
    items: list[ScorecardOut]


class ReviewOut(BaseModel):
    recording_id: int
    reviewed_at: UtcDateTime | None
    shared_at: UtcDateTime | None
    feedback: str


class ShareIn(StrictModel):
    feedback: Text(inputs.MAX_BODY) = ""


class TranscriptIn(StrictModel):
    format: Literal["vtt", "srt", "json"] | None = Field(None, description="guessed from the content when absent")
    content: str = Field(max_length=MAX_BYTES, description="the file's text: WebVTT, SRT or JSON segments "
                                                           '[{"start", "end", "speaker": "rep|prospect", "text"}]')


class LineOut(OutModel):
    id: int
    start_seconds: float
    end_seconds: float
    speaker: Literal["rep", "prospect"] | None
    label: str | None
    text: str


class TranscriptOut(BaseModel):
    recording_id: int
    format: str
    uploaded_at: UtcDateTime
    lines: list[LineOut]


class HitOut(BaseModel):
    at_seconds: float
    phrase: str
    count: int
    line_id: int


class TrackerHitsOut(BaseModel):
    tracker_id: int
    name: str
    count: int
    marks: list[HitOut]


class TrackerHitList(BaseModel):
    items: list[TrackerHitsOut]


class TrackerIn(StrictModel):
    name: Text(80, min_length=1)
    phrases: list[Text(inputs.MAX_PHRASE, min_length=1)] = Field(min_length=1, max_length=inputs.MAX_PHRASES)
    said_by: Literal["either", "rep", "prospect"] = "either"


class TrackerOut(OutModel):
    id: int
    name: str
    phrases: list[str]
    said_by: str


class TrackerList(BaseModel):
    items: list[TrackerOut]


class CriterionIn(StrictModel):
    name: Text(inputs.MAX_NAME, min_length=1)
    description: Text(1000) = ""
    weight: float = Field(1.0, ge=0.1, le=100)


class RubricIn(StrictModel):
    name: Text(inputs.MAX_NAME, min_length=1)
    description: Text(2000) = ""
    scoring: Literal["mean", "weighted"] = "mean"
    criteria: list[CriterionIn] = Field(min_length=1, max_length=inputs.MAX_CRITERIA)


class CriterionOut(OutModel):
    id: int
    name: str
    description: str
    weight: float


class RubricOut(OutModel):
    id: int
    name: str
    description: str
    scoring: str
    criteria: list[CriterionOut]


class RubricList(BaseModel):
    items: list[RubricOut]


class FolderIn(StrictModel):
    name: Text(inputs.MAX_NAME, min_length=1)
    description: Text(2000) = ""


class ClipOut(OutModel):
    id: int
    folder_id: int
    recording_id: int
    start_seconds: float
    end_seconds: float
    note: str
    audio_url: str = Field(description="the clip's span as audio (WAV), playable by every sales user")


class FolderOut(OutModel):
    id: int
    name: str
    description: str
    clips: list[ClipOut]


class FolderList(BaseModel):
    items: list[FolderOut]


class ClipIn(StrictModel):
    folder_id: Id
    start_seconds: float = Field(ge=0, le=inputs.MAX_SECONDS)
    end_seconds: float = Field(ge=0, le=inputs.MAX_SECONDS, description="after the start, within the recording")
    note: Text(2000) = ""


class QueueQuery(QueryModel):
    rep_id: Id | None = None
    outcome: str | None = Field(None, max_length=40, description="the call's logged outcome, e.g. connected")
    date_from: date | None = Field(None, description="call date from (in your time zone)")
    date_to: date | None = None
    min_minutes: float | None = Field(None, ge=0, le=1440)
    max_minutes: float | None = Field(None, ge=0, le=1440)
    tracker_id: Id | None = Field(None, description="only calls where this tracker was heard")
    talk_min: float | None = Field(None, ge=0, le=100, description="rep's talk ratio, percent, at least")
    talk_max: float | None = Field(None, ge=0, le=100)
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(25, ge=1, le=200)


class QueueItem(BaseModel):
    recording_id: int
    activity_id: int
    rep_id: int | None
    rep_name: str | None
    called_at: UtcDateTime
    outcome: str | None
    duration_seconds: float | None
    talk_ratio_rep: float | None
    longest_monologue_rep_seconds: float | None
    tracker_hits: int
    url: str


class QueuePage(BaseModel):
    items: list[QueueItem]
    page: int
    per_page: int
    total: int


# --- converters ------------------------------------------------------------------------------

def comment_out(comment, cls=CommentOut):
    return cls(id=comment.id, parent_id=comment.parent_id, at_seconds=comment.at_seconds, body=comment.body,
               author_id=comment.author_id, author_name=comment.author.name if comment.author else None,
               created_at=comment.created_at, **({"replies": []} if cls is ThreadOut else {}))


def thread_out(item) -> ThreadOut:
    out = comment_out(item.comment, ThreadOut)
    out.replies = [comment_out(reply) for reply in item.replies]
    return out


def scorecard_out(card) -> ScorecardOut:
    return ScorecardOut(
        id=card.id, rubric_id=card.rubric_id, rubric=card.rubric.name, reviewer_id=card.reviewer_id,
        reviewer_name=card.reviewer.name, score=card.score, updated_at=card.updated_at,
        ratings=[RatingOut(criterion_id=r.criterion_id, criterion=r.criterion.name, rating=r.rating, note=r.note)
                 for r in sorted(card.ratings, key=lambda r: r.criterion.position)])


def review_out(recording_id: int, review) -> ReviewOut:
    return ReviewOut(recording_id=recording_id, reviewed_at=review.reviewed_at if review else None,
                     shared_at=review.shared_at if review else None, feedback=review.feedback if review else "")


def clip_out(clip) -> ClipOut:
    return ClipOut(id=clip.id, folder_id=clip.folder_id, recording_id=clip.recording_id,
                   start_seconds=clip.start_seconds, end_seconds=clip.end_seconds, note=clip.note,
                   audio_url=f"/library/clips/{clip.id}/audio")


def folder_out(folder) -> FolderOut:
    return FolderOut(id=folder.id, name=folder.name, description=folder.description,
                     clips=[clip_out(c) for c in folder.clips])


# --- a call's review -------------------------------------------------------------------------

@routes.get("/recordings/<int:recording_id>/comments")
@roles(*SALES)
@endpoint("Comments on a call, with replies", response=CommentList,
          description="Reviewers always; the rep once the review is shared.")
def list_comments(recording_id: int):
    return CommentList(items=[thread_out(t) for t in services.comments(api_user(), recording_id)])


@routes.post("/recordings/<int:recording_id>/comments")
@roles(*SALES)
@endpoint("Comment at a second of the call, or reply", body=CommentIn, response=CommentOut, status=201,
          description="Managers (of the rep) and admins comment; the rep replies on a shared review. "
                      "422 when `at_seconds` is beyond the recording's end.")
def create_comment(recording_id: int, body: CommentIn):
    comment = services.add_comment(api_user(), recording_id, body.model_dump(), now=utcnow())
    db.session.commit()
    return comment_out(comment)


@routes.get("/recordings/<int:recording_id>/scorecards")
@roles(*SALES)
@endpoint("Scorecards of a call", response=ScorecardList)
def list_scorecards(recording_id: int):
    return ScorecardList(items=[scorecard_out(c) for c in services.scorecards(api_user(), recording_id)])


@routes.post("/recordings/<int:recording_id>/scorecards")
@roles(*REVIEWERS)
@endpoint("Score a call on a rubric", body=ScorecardIn, response=ScorecardOut, status=201,
          description="Every criterion of the rubric rated 1-5; scoring again on the same rubric replaces it.")
def create_scorecard(recording_id: int, body: ScorecardIn):
    card = services.save_scorecard(api_user(), recording_id, body.model_dump(), now=utcnow())
    db.session.commit()
    return scorecard_out(card)


@routes.get("/recordings/<int:recording_id>/review")
@roles(*SALES)
@endpoint("Review state of a call (reviewed, shared, feedback)", response=ReviewOut)
def get_review(recording_id: int):
    return review_out(recording_id, services.review_state(api_user(), recording_id))


class ReviewIn(StrictModel):
    reviewed: bool = Field(description="true: reviewed (leaves the queue); false: back in the queue")


@routes.put("/recordings/<int:recording_id>/review")
@roles(*REVIEWERS)
@endpoint("Mark a call reviewed, or put it back in the queue", body=ReviewIn, response=ReviewOut)
def mark_reviewed(recording_id: int, body: ReviewIn):
    review = services.mark_reviewed(api_user(), recording_id, now=utcnow(), reviewed=body.reviewed)
    db.session.commit()
    return review_out(recording_id, review)


@routes.post("/recordings/<int:recording_id>/share")
@roles(*REVIEWERS)
@endpoint("Share the review with the rep (who gets an alert)", body=ShareIn, response=ReviewOut)
def share(recording_id: int, body: ShareIn):
    review = services.share_feedback(api_user(), recording_id, body.model_dump(), now=utcnow())
    db.session.commit()
    return review_out(recording_id, review)


@routes.put("/recordings/<int:recording_id>/transcript")
@roles(*SALES)
@endpoint("Upload (or replace) a call's transcript", body=TranscriptIn, response=TranscriptOut, status=201,
          description="WebVTT, SRT or JSON segments. 422 lists every malformed line. Trackers are recounted.")
def put_transcript(recording_id: int, body: TranscriptIn):
    actor = api_user()
    services.save_transcript(actor, recording_id, body.content, now=utcnow(), fmt=body.format)
    db.session.commit()
    return transcript_out(actor, recording_id)


def transcript_out(actor, recording_id: int) -> TranscriptOut:
    transcript = services.transcript_of(actor, recording_id)
    if transcript is None:
        raise NotFound(gettext("this call has no transcript"))
    return TranscriptOut(recording_id=recording_id, format=transcript.format, uploaded_at=transcript.uploaded_at,
                         lines=[LineOut.model_validate(line) for line in transcript.lines])


@routes.get("/recordings/<int:recording_id>/transcript")
@roles(*SALES)
@endpoint("A call's transcript", response=TranscriptOut)
def get_transcript(recording_id: int):
    return transcript_out(api_user(), recording_id)


@routes.get("/recordings/<int:recording_id>/tracker-hits")
@roles(*SALES)
@endpoint("Keyword trackers heard on a call, with where", response=TrackerHitList)
def list_tracker_hits(recording_id: int):
    return TrackerHitList(items=[
        TrackerHitsOut(tracker_id=item.tracker.id, name=item.tracker.name, count=item.count,
                       marks=[HitOut(at_seconds=h.at_seconds, phrase=h.phrase, count=h.count, line_id=h.line_id)
                              for h in item.marks])
        for item in services.tracker_hits(api_user(), recording_id)])


@routes.post("/recordings/<int:recording_id>/clips")
@roles(*REVIEWERS)
@endpoint("Save a span of the call to a library folder", body=ClipIn, response=ClipOut, status=201)
def create_clip(recording_id: int, body: ClipIn):
    clip = services.add_clip(api_user(), recording_id, body.model_dump(), now=utcnow())
    db.session.commit()
    return clip_out(clip)


# --- trackers, rubrics, library ----------------------------------------------------------------

@routes.get("/trackers")
@roles(*SALES)
@endpoint("Keyword trackers", response=TrackerList)
def list_trackers():
    return TrackerList(items=[TrackerOut.model_validate(t) for t in services.list_trackers(api_user())])


@routes.post("/trackers")
@roles(*REVIEWERS)
@endpoint("Define a keyword tracker (counted on every transcript)", body=TrackerIn, response=TrackerOut, status=201)
def create_tracker(body: TrackerIn):
    found = services.create_tracker(api_user(), body.model_dump(), now=utcnow())
    db.session.commit()
    return TrackerOut.model_validate(found)


@routes.put("/trackers/<int:tracker_id>")
@roles(*REVIEWERS)
@endpoint("Change a tracker (hits are recounted)", body=TrackerIn, response=TrackerOut)
def update_tracker(tracker_id: int, body: TrackerIn):
    found = services.update_tracker(api_user(), tracker_id, body.model_dump(), now=utcnow())
    db.session.commit()
    return TrackerOut.model_validate(found)


@routes.delete("/trackers/<int:tracker_id>")
@roles(*REVIEWERS)
@endpoint("Delete a tracker")
def delete_tracker(tracker_id: int):
    services.delete_tracker(api_user(), tracker_id)
    db.session.commit()


@routes.get("/rubrics")
@roles(*SALES)
@endpoint("Scorecard rubrics", response=RubricList)
def list_rubrics():
    return RubricList(items=[RubricOut.model_validate(r) for r in services.list_rubrics(api_user())])


@routes.post("/rubrics")
@roles(*REVIEWERS)
@endpoint("Define a rubric (criteria rated 1-5)", body=RubricIn, response=RubricOut, status=201)
def create_rubric(body: RubricIn):
    found = services.create_rubric(api_user(), body.model_dump(), now=utcnow())
    db.session.commit()
    return RubricOut.model_validate(found)


@routes.get("/library/folders")
@roles(*SALES)
@endpoint("Library folders with their clips", response=FolderList)
def list_folders():
    return FolderList(items=[folder_out(f) for f in services.list_folders(api_user())])


@routes.post("/library/folders")
@roles(*REVIEWERS)
@endpoint("Create a library folder", body=FolderIn, response=FolderOut, status=201)
def create_folder(body: FolderIn):
    found = services.create_folder(api_user(), body.model_dump(), now=utcnow())
    db.session.commit()
    return folder_out(found)


@routes.get("/library/clips/<int:clip_id>")
@roles(*SALES)
@endpoint("A library clip", response=ClipOut)
def get_clip(clip_id: int):
    return clip_out(services.clip(api_user(), clip_id))


@routes.delete("/library/clips/<int:clip_id>")
@roles(*REVIEWERS)
@endpoint("Remove a clip from the library")
def delete_clip(clip_id: int):
    services.delete_clip(api_user(), clip_id)
    db.session.commit()


# --- the queue -----------------------------------------------------------------------------------

@routes.get("/reviews/queue")
@roles(*REVIEWERS)
@endpoint("The team's analysed calls nobody has reviewed yet", query=QueueQuery, response=QueuePage)
def review_queue(query: QueueQuery):
    found, _ = services.review_queue(api_user(), query.model_dump(exclude_none=True))
    hits = services.hit_counts([r.id for r in found.items])
    return QueuePage(items=[queue_item(r, hits.get(r.id, 0)) for r in found.items],
                     page=found.page, per_page=found.per_page, total=found.total)


def queue_item(recording, hits: int) -> QueueItem:
    return QueueItem(
        recording_id=recording.id, activity_id=recording.activity_id, rep_id=recording.user_id,
        rep_name=recording.user.name if recording.user else None, called_at=recording.activity.occurred_at,
        outcome=(recording.activity.details or {}).get("outcome"), duration_seconds=recording.duration_seconds,
        talk_ratio_rep=recording.talk_ratio_rep,
        longest_monologue_rep_seconds=recording.longest_monologue_rep_seconds, tracker_hits=hits,
        url=f"/recordings/{recording.id}")
