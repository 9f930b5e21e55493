"""The public face of conversation review: transcripts and their search, keyword trackers,
comments pinned to a second, rubrics and scorecards, the review state of a call (reviewed,
shared with the rep), the review queue, the library of clips, the rep's figures.

Who may do what (on top of ``crm.recordings.services.recording_for``: the rep who made the
call, their manager, admins; planners nothing):

- managers and admins review: comment, score, mark reviewed, share, clip; they define trackers,
  rubrics and library folders (company-wide: a competitor or a rubric is the same for all);
- a rep reads the review of their own call once it is shared (until then it is the reviewer's
  draft) and may reply to its comments; reads transcripts and tracker marks of their own calls;
- the library is for everyone in sales: a rep plays a clip of a colleague's call, but only the
  clip's span (``clip_audio`` cuts it), never the rest of the call.

Services take the acting user and ``now``; they flush, never commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, exists, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from crm.alerts.services import notify
from crm.auth.models import User
from crm.contacts.models import Activity
from crm.errors import NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import N_, _
from crm.policy import SALES_ROLES
from crm.recordings.models import Recording
from crm.recordings.services import recording_for, visible_recordings
from crm.reviews import inputs
from crm.reviews.matching import matches, phrase_pattern, said_by_matches
from crm.reviews.models import (
    CallReview,
    Clip,
    Comment,
    Criterion,
    LibraryFolder,
    Rating,
    Rubric,
    Scorecard,
    Tracker,
    TrackerHit,
    Transcript,
    TranscriptLine,
)
from crm.reviews.transcripts import fold, parse_transcript, speaker_roles
from crm.validation import as_id
from crm.web.pagination import Page, paginate

REVIEWER_ROLES = ("manager", "admin")
# A clip is an example to learn from, not a way to hand out whole calls.
MAX_CLIP_SECONDS = 10 * 60
# Slack for rounding: a player's currentTime can read 0.02s past the decoded duration.
END_TOLERANCE = 0.05


# --- who may do what -------------------------------------------------------------------------

def is_reviewer(actor: User) -> bool:
    return actor.role in REVIEWER_ROLES


def require_reviewer(actor: User) -> None:
    if not is_reviewer(actor):
        raise PermissionDenied(_("only managers and admins review calls"))


def require_sales(actor: User) -> None:
    if actor.role not in SALES_ROLES:
        raise PermissionDenied(_("conversation review is for sales users"))


def recording_to_review(actor: User, recording_id: Any) -> Recording:
    """A recording ``actor`` may review: theirs to hear and they a manager (of the rep) or admin."""
    recording = recording_for(actor, recording_id)
    require_reviewer(actor)
    if recording.user_id == actor.id and actor.role != "admin":
        raise PermissionDenied(_("a manager does not review their own calls"))
    return recording


def call_review(recording: Recording) -> CallReview | None:
    return db.session.scalar(select(CallReview).where(CallReview.recording_id == recording.id))


def review_visible(actor: User, recording: Recording) -> bool:
    """Whether ``actor`` (who may hear ``recording``) may read its comments and scorecards."""
    if is_reviewer(actor) and (recording.user_id != actor.id or actor.role == "admin"):
        return True
    review = call_review(recording)
    return review is not None and review.shared_at is not None


def recording_with_review(actor: User, recording_id: Any) -> Recording:
    recording = recording_for(actor, recording_id)
    if not review_visible(actor, recording):
        raise PermissionDenied(_("the review of this call has not been shared yet"))
    return recording


def rep_names(recording: Recording) -> tuple[str, ...]:
    """The rep's full and first name, how transcripts label them."""
    name = (recording.user.name if recording.user else "") or ""
    return tuple(n for n in (name, name.split()[0] if name.split() else "") if n)


def check_within(recording: Recording, seconds: float, field: str) -> None:
    duration = recording.duration_seconds
    if duration is not None and seconds > duration + END_TOLERANCE:
        raise ValidationFailed(_("beyond the end of the recording"),
                               {field: _("the recording lasts %(duration)s seconds", duration=f'{duration:.1f}')})


def insert_once(model, values: dict[str, Any], keys: list[str]) -> None:
    """Insert a row unless one with the same unique ``keys`` exists, without an error when two
    requests (two tabs, two reviewers) create it at the same moment: ON CONFLICT DO NOTHING."""
    insert = pg_insert if db.session.connection().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=keys))


def locked(query: Select):
    """The row of ``query``, locked until commit (``FOR UPDATE``; SQLite serialises writers
    anyway), read afresh so a concurrent writer's committed change is what we update."""
    return db.session.scalars(query.with_for_update().execution_options(populate_existing=True)).one()


def add_named(row) -> None:
    """Add a row whose name is unique; two people creating the same name at once: one gets the
    field error, not a 500."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed(_("that name is taken"), {"name": _("another one has this name")}) from None


# --- transcripts ---------------------------------------------------------------------------

def save_transcript(actor: User, recording_id: Any, raw: bytes | str, *, now: datetime, fmt: str | None = None,
                    filename: str | None = None) -> Transcript:
    """Store (or replace) the transcript of a recording and recount the trackers on it. Anyone who
    may hear the call may attach its transcript (the phone system posts as the rep)."""
    recording = recording_for(actor, recording_id)
    segments = parse_transcript(raw, fmt, filename)
    for number, segment in enumerate(segments, start=1):
        check_within(recording, segment.start, f"transcript.segment {number}")
    existing = db.session.scalar(select(Transcript).where(Transcript.recording_id == recording.id))
    if existing is not None:
        db.session.execute(delete(TrackerHit).where(TrackerHit.recording_id == recording.id))
        db.session.execute(delete(TranscriptLine).where(TranscriptLine.recording_id == recording.id))
        db.session.delete(existing)
        db.session.flush()
    roles = speaker_roles({s.label for s in segments}, rep_names(recording))
    transcript = Transcript(recording_id=recording.id, format=(fmt or "").lower() or _format_of(filename, raw),
                            filename=(filename or "")[:255] or None, uploaded_by_id=actor.id, uploaded_at=now)
    db.session.add(transcript)
    db.session.flush()
    db.session.add_all([
        TranscriptLine(transcript_id=transcript.id, recording_id=recording.id, position=position,
                       start_seconds=s.start, end_seconds=s.end, speaker=roles[s.label],
                       label=s.label, text=s.text, folded=fold(s.text))
        for position, s in enumerate(segments)])
    db.session.flush()
    recount_recording(recording.id)
    return transcript


def _format_of(filename: str | None, raw: bytes | str) -> str:
    text = raw if isinstance(raw, str) else raw[:64].decode("utf-8", "replace")
    head = text.lstrip("\ufeff \r\n\t")
    if head.startswith("WEBVTT"):
        return "vtt"
    return "json" if head[:1] in "[{" else "srt"


def transcript_lines(actor: User, recording_id: Any) -> list[TranscriptLine]:
    recording = recording_for(actor, recording_id)
    return list(db.session.scalars(
        select(TranscriptLine).where(TranscriptLine.recording_id == recording.id).order_by(TranscriptLine.position)))


def transcript_of(actor: User, recording_id: Any) -> Transcript | None:
    recording = recording_for(actor, recording_id)
    return db.session.scalar(select(Transcript).where(Transcript.recording_id == recording.id))


@dataclass(frozen=True)
class SearchHit:
    line: TranscriptLine
    recording: Recording


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_transcripts(actor: User, query: str, *, page: int = 1, per_page: int = 25) -> Page:
    """Transcript lines containing ``query`` (accent- and case-insensitive) on the calls ``actor``
    may hear, newest call first. Items are ``SearchHit``."""
    require_sales(actor)
    needle = fold(query or "")
    if len(needle) < 2:
        raise ValidationFailed(_("search for at least 2 characters"), {"q": _("at least 2 characters")})
    visible = visible_recordings(actor).with_only_columns(Recording.id)
    lines = (select(TranscriptLine)
             .join(Recording, Recording.id == TranscriptLine.recording_id)
             .where(TranscriptLine.recording_id.in_(visible),
                    TranscriptLine.folded.like(f"%{_like_escape(needle)}%", escape="\\"))
             .order_by(Recording.created_at.desc(), Recording.id.desc(), TranscriptLine.position))
    found = paginate(lines, page, per_page, default=25)
    recordings = {r.id: r for r in db.session.scalars(
        select(Recording).where(Recording.id.in_({line.recording_id for line in found.items})))}
    return Page([SearchHit(line, recordings[line.recording_id]) for line in found.items],
                found.page, found.per_page, found.total)


# --- trackers ------------------------------------------------------------------------------

def list_trackers(actor: User) -> list[Tracker]:
    require_sales(actor)
    return list(db.session.scalars(select(Tracker).order_by(Tracker.name)))


def tracker(actor: User, tracker_id: Any) -> Tracker:
    require_sales(actor)
    found = db.session.get(Tracker, as_id(tracker_id)) if as_id(tracker_id) else None
    if found is None:
        raise NotFound(_("no such tracker"))
    return found


def _unique_name(model, name: str, current_id: int | None = None) -> None:
    taken = db.session.scalar(select(model.id).where(func.lower(model.name) == name.lower()))
    if taken is not None and taken != current_id:
        raise ValidationFailed(_("that name is taken"), {"name": _("another one has this name")})


def create_tracker(actor: User, data: dict[str, Any], *, now: datetime) -> Tracker:
    require_reviewer(actor)
    values = inputs.TrackerInput.parse(data)
    _unique_name(Tracker, values.name)
    found = Tracker(name=values.name, phrases=values.phrases, said_by=values.said_by, created_by_id=actor.id,
                    created_at=now, updated_at=now)
    add_named(found)
    recount_tracker(found)
    return found


def update_tracker(actor: User, tracker_id: Any, data: dict[str, Any], *, now: datetime) -> Tracker:
    require_reviewer(actor)
    found = tracker(actor, tracker_id)
    values = inputs.TrackerInput.parse(data)
    _unique_name(Tracker, values.name, found.id)
    found.name, found.phrases, found.said_by, found.updated_at = values.name, values.phrases, values.said_by, now
    db.session.flush()
    recount_tracker(found)
    return found


def delete_tracker(actor: User, tracker_id: Any) -> None:
    require_reviewer(actor)
    found = tracker(actor, tracker_id)
    db.session.execute(delete(TrackerHit).where(TrackerHit.tracker_id == found.id))
    db.session.delete(found)
    db.session.flush()


def _hits_on(found: Tracker, lines) -> list[TrackerHit]:
    hits = []
    for line in lines:
        if not said_by_matches(found.said_by, line.speaker):
            continue
        for match in matches(found.phrases, line.folded):
            hits.append(TrackerHit(tracker_id=found.id, recording_id=line.recording_id, line_id=line.id,
                                   at_seconds=line.start_seconds, phrase=match.phrase[:120], count=match.count))
    return hits


def _candidate_filter(phrases: list[str]):
    """A LIKE prefilter so the database hands Python only lines that may match: every phrase's
    longest word, folded. The word-boundary rule runs in Python (``matching``)."""
    words = [max(fold(p).split(), key=len) for p in phrases if fold(p).split()]
    return or_(*[TranscriptLine.folded.like(f"%{_like_escape(w)}%", escape="\\") for w in words])


def recount_tracker(found: Tracker) -> int:
    """Rebuild one tracker's hits on every transcript; the number of hits."""
    db.session.execute(delete(TrackerHit).where(TrackerHit.tracker_id == found.id))
    lines = db.session.scalars(select(TranscriptLine).where(_candidate_filter(found.phrases))).yield_per(1000)
    hits = _hits_on(found, lines)
    db.session.add_all(hits)
    db.session.flush()
    return len(hits)


def recount_all() -> dict[str, int]:
    """Every tracker recounted on every transcript (the CLI)."""
    trackers = list(db.session.scalars(select(Tracker).order_by(Tracker.id)))
    return {"trackers": len(trackers), "hits": sum(recount_tracker(found) for found in trackers)}


def recount_recording(recording_id: int) -> int:
    """Rebuild every tracker's hits on one recording's transcript."""
    db.session.execute(delete(TrackerHit).where(TrackerHit.recording_id == recording_id))
    lines = list(db.session.scalars(select(TranscriptLine).where(TranscriptLine.recording_id == recording_id)))
    hits = [hit for found in db.session.scalars(select(Tracker)) for hit in _hits_on(found, lines)]
    db.session.add_all(hits)
    db.session.flush()
    return len(hits)


@dataclass(frozen=True)
class TrackerCount:
    tracker: Tracker
    count: int
    marks: list[TrackerHit]


def tracker_hits(actor: User, recording_id: Any) -> list[TrackerCount]:
    """Per tracker, how many times it was said on this call and where (the player's marks)."""
    recording = recording_for(actor, recording_id)
    hits = list(db.session.scalars(select(TrackerHit).where(TrackerHit.recording_id == recording.id)
                                   .order_by(TrackerHit.at_seconds, TrackerHit.id)))
    by_tracker: dict[int, list[TrackerHit]] = {}
    for hit in hits:
        by_tracker.setdefault(hit.tracker_id, []).append(hit)
    trackers = {t.id: t for t in db.session.scalars(select(Tracker).where(Tracker.id.in_(by_tracker)))}
    return [TrackerCount(trackers[tid], sum(h.count for h in marks), marks)
            for tid, marks in sorted(by_tracker.items(), key=lambda item: trackers[item[0]].name)]


def phrase_found(phrase: str, text: str) -> bool:
    """Whether a tracker phrase occurs in ``text`` under the trackers' rule (for previews)."""
    return bool(phrase_pattern(phrase).search(fold(text)))


# --- comments ------------------------------------------------------------------------------

def comments(actor: User, recording_id: Any) -> list[Comment]:
    """Top-level comments in time order, each with ``replies`` loaded (oldest first)."""
    recording = recording_with_review(actor, recording_id)
    every = list(db.session.scalars(select(Comment).where(Comment.recording_id == recording.id)
                                    .order_by(Comment.at_seconds, Comment.id)))
    return thread(every)


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment]


def thread(every: list[Comment]) -> list[Any]:
    tops = [Thread(c, []) for c in every if c.parent_id is None]
    index = {t.comment.id: t for t in tops}
    for reply in sorted((c for c in every if c.parent_id is not None), key=lambda c: c.id):
        if reply.parent_id in index:
            index[reply.parent_id].replies.append(reply)
    return tops


def add_comment(actor: User, recording_id: Any, data: dict[str, Any], *, now: datetime) -> Comment:
    """A comment at a second of the call, or a reply (``parent_id``: pinned where its parent is).
    Reviewers comment; the rep replies on their own shared review.

    :raises ValidationFailed: ``at_seconds`` beyond the recording's end (422), empty body
    """
    values = inputs.CommentCreate.parse(data)
    if values.parent_id is None:
        recording = recording_to_review(actor, recording_id)
    else:
        recording = recording_with_review(actor, recording_id)
    parent_id: int | None = None
    if values.parent_id is not None:
        parent = db.session.get(Comment, values.parent_id)
        if parent is None or parent.recording_id != recording.id:
            raise ValidationFailed(_("no such comment on this call"), {"parent_id": _("not a comment on this call")})
        parent_id = parent.parent_id or parent.id  # one level of replies: a reply to a reply joins the thread
        at_seconds = parent.at_seconds
    elif values.at_seconds is None:
        raise ValidationFailed(inputs.CommentCreate.INVALID, {"at_seconds": _("required")})
    else:
        at_seconds = values.at_seconds
        check_within(recording, at_seconds, "at_seconds")
    comment = Comment(recording_id=recording.id, parent_id=parent_id, author_id=actor.id, at_seconds=at_seconds,
                      body=values.body, created_at=now)
    db.session.add(comment)
    db.session.flush()
    _alert_on_reply(actor, recording, comment, now)
    return comment


def _alert_on_reply(actor: User, recording: Recording, comment: Comment, now: datetime) -> None:
    """The rep hears of new comments on a shared review; the reviewer of the rep's replies."""
    review = call_review(recording)
    if review is None or review.shared_at is None:
        return
    url = f"/recordings/{recording.id}?t={comment.at_seconds:g}"
    if actor.id == recording.user_id:
        notify(review.shared_by_id, "review_reply", N_("%(name)s replied on a reviewed call"),
               params={"name": actor.name}, now=now, url=url)
    else:
        notify(recording.user_id, "review_comment", N_("%(name)s commented on your call"),
               params={"name": actor.name}, now=now, url=url)


# --- rubrics and scorecards ----------------------------------------------------------------

def list_rubrics(actor: User) -> list[Rubric]:
    require_sales(actor)
    return list(db.session.scalars(select(Rubric).order_by(Rubric.name)))


def rubric(actor: User, rubric_id: Any) -> Rubric:
    require_sales(actor)
    found = db.session.get(Rubric, as_id(rubric_id)) if as_id(rubric_id) else None
    if found is None:
        raise NotFound(_("no such rubric"))
    return found


def create_rubric(actor: User, data: dict[str, Any], *, now: datetime) -> Rubric:
    require_reviewer(actor)
    values = inputs.RubricInput.parse(data)
    _unique_name(Rubric, values.name)
    found = Rubric(name=values.name, description=values.description, scoring=values.scoring,
                   created_by_id=actor.id, created_at=now)
    found.criteria = [Criterion(position=i, name=c.name, description=c.description, weight=c.weight)
                      for i, c in enumerate(values.criteria)]
    add_named(found)
    return found


def delete_rubric(actor: User, rubric_id: Any) -> None:
    require_reviewer(actor)
    db.session.delete(rubric(actor, rubric_id))
    db.session.flush()


def score_of(found: Rubric, ratings: dict[int, int]) -> float:
    """The mean of the ratings, or their mean weighted by the criteria's weights."""
    if found.scoring == "weighted":
        total = sum(c.weight for c in found.criteria)
        return round(sum(c.weight * ratings[c.id] for c in found.criteria) / total, 2)
    return round(sum(ratings[c.id] for c in found.criteria) / len(found.criteria), 2)


def save_scorecard(actor: User, recording_id: Any, data: dict[str, Any], *, now: datetime) -> Scorecard:
    """Score a call on a rubric (every criterion 1-5, notes optional); scoring it again on the
    same rubric replaces the reviewer's earlier card."""
    recording = recording_to_review(actor, recording_id)
    values = inputs.ScorecardInput.parse(data)
    found = db.session.get(Rubric, values.rubric_id)
    if found is None:
        raise ValidationFailed(_("no such rubric"), {"rubric_id": _("not a rubric")})
    given = {r.criterion_id: r for r in values.ratings}
    criteria = {c.id for c in found.criteria}
    problems = {f"ratings.{cid}": "not a criterion of this rubric" for cid in given if cid not in criteria}
    problems |= {f"ratings.{c.id}": f"rate '{c.name}' from 1 to 5" for c in found.criteria if c.id not in given}
    if problems:
        raise ValidationFailed(_("rate every criterion of the rubric from 1 to 5"), problems)
    insert_once(Scorecard, {"recording_id": recording.id, "rubric_id": found.id, "reviewer_id": actor.id,
                            "score": 0.0, "created_at": now, "updated_at": now},
                ["recording_id", "rubric_id", "reviewer_id"])
    card = locked(select(Scorecard).where(
        Scorecard.recording_id == recording.id, Scorecard.rubric_id == found.id, Scorecard.reviewer_id == actor.id))
    card.score = score_of(found, {cid: r.rating for cid, r in given.items()})
    card.updated_at = now
    existing = {rating.criterion_id: rating for rating in card.ratings}
    for criterion_id, value in given.items():
        rating = existing.get(criterion_id) or Rating(criterion_id=criterion_id)
        rating.rating, rating.note = value.rating, value.note
        if criterion_id not in existing:
            card.ratings.append(rating)
    db.session.flush()
    return card


def scorecards(actor: User, recording_id: Any) -> list[Scorecard]:
    recording = recording_with_review(actor, recording_id)
    return list(db.session.scalars(select(Scorecard).where(Scorecard.recording_id == recording.id)
                                   .order_by(Scorecard.updated_at.desc(), Scorecard.id.desc())))


# --- review state --------------------------------------------------------------------------

def _review_row(recording: Recording) -> CallReview:
    insert_once(CallReview, {"recording_id": recording.id, "feedback": ""}, ["recording_id"])
    return locked(select(CallReview).where(CallReview.recording_id == recording.id))


def mark_reviewed(actor: User, recording_id: Any, *, now: datetime, reviewed: bool = True) -> CallReview:
    """Take the call out of the review queue (``reviewed=False``: put it back; what was shared
    stays shared)."""
    recording = recording_to_review(actor, recording_id)
    review = _review_row(recording)
    if not reviewed:
        review.reviewed_at, review.reviewed_by_id = None, None
    elif review.reviewed_at is None:
        review.reviewed_at, review.reviewed_by_id = now, actor.id
    db.session.flush()
    return review


def share_feedback(actor: User, recording_id: Any, data: dict[str, Any], *, now: datetime) -> CallReview:
    """Mark the call reviewed and show the review to the rep, who gets an alert. Sharing again
    updates the feedback text and alerts again."""
    recording = recording_to_review(actor, recording_id)
    values = inputs.ShareInput.parse(data)
    review = _review_row(recording)
    if review.reviewed_at is None:
        review.reviewed_at, review.reviewed_by_id = now, actor.id
    review.shared_at, review.shared_by_id = now, actor.id
    review.feedback = values.feedback
    db.session.flush()
    notify(recording.user_id, "review_shared", N_("%(name)s shared feedback on your call"),
           params={"name": actor.name}, now=now, url=f"/recordings/{recording.id}")
    return review


def review_state(actor: User, recording_id: Any) -> CallReview | None:
    recording = recording_for(actor, recording_id)
    review = call_review(recording)
    if review is not None and review.shared_at is None and not review_visible(actor, recording):
        return None
    return review


# --- the review queue ----------------------------------------------------------------------

def _day_start(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def queue_query(actor: User, filters: inputs.QueueFilters) -> Select:
    """The team's analysed calls nobody has reviewed yet, newest first, filtered."""
    reviewed = exists().where(CallReview.recording_id == Recording.id, CallReview.reviewed_at.is_not(None))
    query = (visible_recordings(actor)
             .join(Activity, Activity.id == Recording.activity_id)
             .where(Recording.status == "ready", ~reviewed))
    if actor.role != "admin":
        query = query.where(Recording.user_id != actor.id)
    zone = ZoneInfo(actor.time_zone or "UTC")
    conditions = []
    if filters.rep_id is not None:
        conditions.append(Recording.user_id == filters.rep_id)
    if filters.outcome:
        conditions.append(Activity.details["outcome"].as_string() == filters.outcome)
    if filters.date_from is not None:
        conditions.append(Activity.occurred_at >= _day_start(filters.date_from, zone))
    if filters.date_to is not None:
        conditions.append(Activity.occurred_at < _day_start(filters.date_to + timedelta(days=1), zone))
    if filters.min_minutes is not None:
        conditions.append(Recording.duration_seconds >= filters.min_minutes * 60)
    if filters.max_minutes is not None:
        conditions.append(Recording.duration_seconds <= filters.max_minutes * 60)
    if filters.talk_min is not None:
        conditions.append(Recording.talk_ratio_rep >= filters.talk_min / 100)
    if filters.talk_max is not None:
        conditions.append(Recording.talk_ratio_rep <= filters.talk_max / 100)
    if filters.tracker_id is not None:
        conditions.append(exists().where(TrackerHit.recording_id == Recording.id,
                                         TrackerHit.tracker_id == filters.tracker_id))
    return query.where(true(), *conditions).order_by(Activity.occurred_at.desc(), Recording.id.desc())


def review_queue(actor: User, data: dict[str, Any]) -> tuple[Page, inputs.QueueFilters]:
    """One page of the queue (items: ``Recording``) and the filters as understood."""
    require_reviewer(actor)
    filters = inputs.QueueFilters.parse(data)
    return paginate(queue_query(actor, filters), filters.page, filters.per_page, default=25), filters


def hit_counts(recording_ids: list[int]) -> dict[int, int]:
    """Tracker mentions per recording (the queue's column)."""
    if not recording_ids:
        return {}
    rows = db.session.execute(select(TrackerHit.recording_id, func.sum(TrackerHit.count))
                              .where(TrackerHit.recording_id.in_(recording_ids))
                              .group_by(TrackerHit.recording_id))
    return {rid: int(total or 0) for rid, total in rows}


def team_reps(actor: User) -> list[User]:
    """The reps whose calls ``actor`` reviews (a manager's team, every sales user for admins)."""
    query = select(User).where(User.is_active.is_(True))
    if actor.role == "admin":
        query = query.where(User.role.in_(("rep", "manager")))
    else:
        query = query.where(User.manager_id == actor.id)
    return list(db.session.scalars(query.order_by(User.name)))


# --- the library ---------------------------------------------------------------------------

def list_folders(actor: User) -> list[LibraryFolder]:
    require_sales(actor)
    return list(db.session.scalars(select(LibraryFolder).order_by(LibraryFolder.name)))


def folder(actor: User, folder_id: Any) -> LibraryFolder:
    require_sales(actor)
    found = db.session.get(LibraryFolder, as_id(folder_id)) if as_id(folder_id) else None
    if found is None:
        raise NotFound(_("no such folder"))
    return found


def create_folder(actor: User, data: dict[str, Any], *, now: datetime) -> LibraryFolder:
    require_reviewer(actor)
    values = inputs.FolderInput.parse(data)
    _unique_name(LibraryFolder, values.name)
    found = LibraryFolder(name=values.name, description=values.description, created_by_id=actor.id, created_at=now)
    add_named(found)
    return found


def delete_folder(actor: User, folder_id: Any) -> None:
    require_reviewer(actor)
    db.session.delete(folder(actor, folder_id))
    db.session.flush()


def add_clip(actor: User, recording_id: Any, data: dict[str, Any], *, now: datetime) -> Clip:
    """Keep a span of a call in a library folder: end after start, within the recording, at most
    ``MAX_CLIP_SECONDS`` long."""
    recording = recording_to_review(actor, recording_id)
    values = inputs.ClipInput.parse(data)
    target = db.session.get(LibraryFolder, values.folder_id)
    if target is None:
        raise ValidationFailed(_("no such folder"), {"folder_id": _("not a library folder")})
    check_within(recording, values.end_seconds, "end_seconds")
    if values.end_seconds - values.start_seconds > MAX_CLIP_SECONDS:
        raise ValidationFailed(_("clip too long"),
                               {"end_seconds": _("a clip lasts at most %(MAX_CLIP_SECONDS)s minutes",
                                                 MAX_CLIP_SECONDS=MAX_CLIP_SECONDS // 60)})
    end = min(values.end_seconds, recording.duration_seconds or values.end_seconds)
    clip = Clip(folder_id=target.id, recording_id=recording.id, start_seconds=values.start_seconds,
                end_seconds=end, note=values.note, created_by_id=actor.id, created_at=now)
    db.session.add(clip)
    db.session.flush()
    return clip


def clip(actor: User, clip_id: Any) -> Clip:
    """A library clip: everyone in sales may play it (the library grants the clip's span)."""
    require_sales(actor)
    found = db.session.get(Clip, as_id(clip_id)) if as_id(clip_id) else None
    if found is None:
        raise NotFound(_("no such clip"))
    return found


def delete_clip(actor: User, clip_id: Any) -> None:
    require_reviewer(actor)
    db.session.delete(clip(actor, clip_id))
    db.session.flush()


def clips_of_recording(actor: User, recording_id: Any) -> list[Clip]:
    recording = recording_for(actor, recording_id)
    return list(db.session.scalars(select(Clip).where(Clip.recording_id == recording.id).order_by(Clip.start_seconds)))


# --- the rep's side ------------------------------------------------------------------------

@dataclass(frozen=True)
class TalkFigures:
    calls: int
    talk_ratio: float | None       # rep's share of the talking, 0..1
    longest_monologue: float | None  # seconds, mean over calls of each call's longest


def _figures(query: Select) -> TalkFigures:
    row = db.session.execute(query.with_only_columns(
        func.count(Recording.id), func.avg(Recording.talk_ratio_rep),
        func.avg(Recording.longest_monologue_rep_seconds))).one()
    return TalkFigures(int(row[0] or 0), None if row[1] is None else float(row[1]),
                       None if row[2] is None else float(row[2]))


def talk_figures(actor: User) -> tuple[TalkFigures, TalkFigures]:
    """(own, team): averages over analysed two-channel calls of the rep and of their manager's
    team (the rep included; a rep without a manager compares with every rep)."""
    require_sales(actor)
    analysed = select(Recording).where(Recording.status == "ready", Recording.talk_ratio_rep.is_not(None))
    own = _figures(analysed.where(Recording.user_id == actor.id))
    if actor.manager_id is not None:
        team_ids = select(User.id).where(or_(User.manager_id == actor.manager_id, User.id == actor.id))
    else:
        team_ids = select(User.id).where(User.role == "rep")
    return own, _figures(analysed.where(Recording.user_id.in_(team_ids)))


@dataclass(frozen=True)
class MyReview:
    recording: Recording
    review: CallReview
    scores: list[float]
    comments: int


def my_reviews(actor: User, *, page: int = 1, per_page: int = 20) -> Page:
    """The rep's calls whose review was shared, newest share first (items: ``MyReview``)."""
    require_sales(actor)
    query = (select(CallReview).join(Recording, Recording.id == CallReview.recording_id)
             .where(Recording.user_id == actor.id, CallReview.shared_at.is_not(None))
             .order_by(CallReview.shared_at.desc(), CallReview.id.desc()))
    found = paginate(query, page, per_page, default=20)
    ids = [r.recording_id for r in found.items]
    recordings = {r.id: r for r in db.session.scalars(select(Recording).where(Recording.id.in_(ids)))}
    scores: dict[int, list[float]] = {}
    for card in db.session.scalars(select(Scorecard).where(Scorecard.recording_id.in_(ids))):
        scores.setdefault(card.recording_id, []).append(card.score)
    counts = dict(db.session.execute(select(Comment.recording_id, func.count(Comment.id))
                                     .where(Comment.recording_id.in_(ids)).group_by(Comment.recording_id)).all())
    items = [MyReview(recordings[r.recording_id], r, scores.get(r.recording_id, []), counts.get(r.recording_id, 0))
             for r in found.items]
    return Page(items, found.page, found.per_page, found.total)
