"""JSON API of the calls feature (``routes``, mounted on /api/v1 from the manifest): the call queue, logging calls,
time blocks, the calendar feed URL, and (kept for phone systems that use it) a recording's URL, which the
recordings feature stores. Thin callers of the services."""
from __future__ import annotations

from datetime import date as Date
from datetime import time
from typing import Literal

from flask import jsonify
from pydantic import AwareDatetime, Field

from crm.api.auth import api_user
from crm.api.bounds import RecordDay, within_days
from crm.api.endpoint import endpoint
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, QueryModel, StrictModel, Text, TimeZoneName, UtcDateTime
from crm.calls import blocks as block_service
from crm.calls import queue as queue_service
from crm.calls.models import OUTCOMES
from crm.calls.outcomes import log_call
from crm.calls.permissions import rep_for
from crm.calls.priority import REASON_CODES
from crm.calls.settings import feed_url, regenerate_feed_token, settings_for
from crm.extensions import db
from crm.recordings import services as recordings
from crm.timeutil import utcnow
from crm.web.access import SALES, roles

routes = ApiRoutes()

Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]


# --- the queue ----------------------------------------------------------------------------------

class QueueQuery(QueryModel):
    date: RecordDay | None = Field(None, description="YYYY-MM-DD in the rep's zone (within 20 years of today); "
                                                  "default: the rep's today")
    user_id: Id | None = Field(None, description="a rep of the caller's team (managers, admins)")
    include_done: bool = Field(False, description="also the entries already logged or skipped")


class QueueEntryOut(OutModel):
    id: int
    position: int
    contact_id: int
    reason_code: Literal[REASON_CODES]  # type: ignore[valid-type]
    reason: str
    priority: float
    due_at: UtcDateTime
    held_until: UtcDateTime | None
    status: str
    outcome: str | None


class QueueOut(OutModel):
    user_id: int
    date: Date
    capacity: int = Field(description="blocked minutes still ahead today (all of them on a later day) "
                                      "x calls per hour / 60")
    entries: list[QueueEntryOut]


class BuildIn(StrictModel):
    date: within_days(366, 366) | None = Field(None, description="within a year of today")


def _queue_out(rep, day, include_done: bool) -> QueueOut:
    entries = queue_service.queue_entries(rep.id, day, include_done=include_done)
    return QueueOut(user_id=rep.id, date=day, capacity=queue_service.capacity_for(rep, day, utcnow()),
                    entries=[QueueEntryOut.model_validate(e) for e in entries])


@routes.get("/call-queue")
@roles(*SALES)
@endpoint("Read a rep's call queue", query=QueueQuery, response=QueueOut,
          description="Ordered open entries (position 1 first). Reps read their own queue; managers "
                      "their team's (`user_id`); admins anyone's. Reason codes, by priority band: "
                      "live_intent, call_task, converted, callback, score.")
def get_call_queue(query: QueueQuery):
    rep = rep_for(api_user(), query.user_id)
    day = query.date or queue_service.today_for(rep, utcnow())
    return _queue_out(rep, day, query.include_done)


@routes.post("/call-queue")
@roles(*SALES)
@endpoint("Build (or rebuild) my call queue", body=BuildIn, response=QueueOut,
          description="Entries already logged stay; open ones are replaced by a fresh selection.")
def build_call_queue(body: BuildIn):
    user, now = api_user(), utcnow()
    queue_service.build_queue(user, now, body.date)  # a concurrent build: QueueRaced, a 409 conflict
    db.session.commit()
    return _queue_out(user, body.date or queue_service.today_for(user, now), False)


# --- calls ----------------------------------------------------------------------------------------

class FollowUpIn(StrictModel):
    title: Text(200, 1)
    due_at: AwareDatetime


class CallIn(StrictModel):
    contact_id: Id
    outcome: Outcome
    notes: Text(5000) = ""
    duration_seconds: int | None = Field(None, ge=0, le=6 * 3600)
    entry_id: Id | None = Field(
        None, description="the queue entry being logged (default: today's open entry for the contact)")
    callback_at: AwareDatetime | None = Field(None, description="required for outcome callback")
    follow_up: FollowUpIn | None = None


class CallOut(OutModel):
    activity_id: int
    entry_id: int | None
    task_completed: bool
    callback_id: int | None
    follow_up_id: int | None


@routes.post("/calls")
@roles(*SALES)
@endpoint("Log a call", body=CallIn, response=CallOut, status=201,
          description="Writes a `call` activity, completes the queue entry (409 when it was already "
                      "logged), the due sequence call task and any due callback; `wrong_number` flags the phone.")
def create_call(body: CallIn):
    logged = log_call(
        api_user(), contact_id=body.contact_id, outcome=body.outcome, notes=body.notes,
        duration_seconds=body.duration_seconds, entry_id=body.entry_id, callback_at=body.callback_at,
        follow_up=body.follow_up.model_dump() if body.follow_up else None, now=utcnow(),
    )
    db.session.commit()
    return CallOut(activity_id=logged.activity.id, entry_id=logged.entry_id, task_completed=logged.task_completed,
                   callback_id=logged.callback_id, follow_up_id=logged.follow_up_id)


class RecordingIn(StrictModel):
    url: Text(2000, 1) = Field(description="https URL of the recording at the phone system")


class RecordingOut(OutModel):
    id: int
    activity_id: int
    source: str
    url: str | None
    created_at: UtcDateTime


@routes.post("/calls/<int:activity_id>/recording")
@roles(*SALES)
@endpoint("Attach a recording URL to a call", body=RecordingIn, response=RecordingOut, status=201,
          description="The phone system's https URL, stored as a linked recording (not analysed). Upload the "
                      "audio itself with POST /recordings (multipart) to have it analysed.")
def attach_call_recording(activity_id: int, body: RecordingIn):
    recording = recordings.attach_recording_url(api_user(), activity_id, body.url, now=utcnow())
    db.session.commit()
    return RecordingOut(id=recording.id, activity_id=recording.activity_id, source=recording.source,
                        url=recording.source_url, created_at=recording.created_at)


# --- time blocks and the feed ---------------------------------------------------------------

class BlockIn(StrictModel):
    kind: Literal["recurring", "one_off"] = "recurring"
    title: Text(100) = "Prospecting"
    weekdays: list[int] = Field(default_factory=list, max_length=7, description="0=Monday ... 6=Sunday")
    start_time: time
    end_time: time
    on_date: RecordDay | None = None
    valid_from: RecordDay | None = None
    valid_until: RecordDay | None = None
    time_zone: TimeZoneName | None = Field(None, description="IANA name; default: the user's zone")
    allow_overlap: bool = Field(False, description="keep confirmed meetings inside this block; "
                                                   "without it a block over a meeting is a 409 naming the meeting")


class BlockOut(OutModel):
    id: int
    kind: str
    title: str
    weekdays: str = Field(description="digits, 0=Monday")
    start_time: time
    end_time: time
    time_zone: str
    on_date: Date | None
    valid_from: Date | None
    valid_until: Date | None


class BlockList(OutModel):
    items: list[BlockOut]


class FeedOut(OutModel):
    url: str


@routes.get("/time-blocks")
@roles(*SALES)
@endpoint("List my time blocks", response=BlockList)
def list_time_blocks():
    return BlockList(items=[BlockOut.model_validate(b) for b in block_service.blocks_of(api_user().id)])


@routes.post("/time-blocks")
@roles(*SALES)
@endpoint("Create a time block", body=BlockIn, response=BlockOut, status=201,
          description="Local wall-clock times in `time_zone`; recurring blocks need weekdays, "
                      "one-off blocks `on_date`. "
                      "409 `conflict` when the block covers confirmed meetings of yours (named in the message "
                      "and listed in `meetings`), unless `allow_overlap`.")
def create_time_block(body: BlockIn):
    try:
        block = block_service.create_block(api_user(), body.model_dump(), utcnow())
        queue_service.resize_after_change(api_user(), utcnow())
    except block_service.BlockOverlapsMeeting as exc:
        # Refused before anything was written; the request's session is discarded unsaved.
        response = jsonify({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields},
                            "meetings": [{"id": m.id, "title": m.title, "start": m.start.isoformat(),
                                          "end": m.end.isoformat()} for m in exc.meetings]})
        response.status_code = 409
        return response
    db.session.commit()
    return BlockOut.model_validate(block)


@routes.delete("/time-blocks/<int:block_id>")
@roles(*SALES)
@endpoint("Delete a time block", status=204)
def delete_time_block(block_id: int):
    block_service.delete_block(api_user(), block_id)
    queue_service.resize_after_change(api_user(), utcnow())
    db.session.commit()
    return None


@routes.get("/calendar-feed")
@roles(*SALES)
@endpoint("My secret calendar (ICS) feed URL", response=FeedOut)
def get_calendar_feed():
    settings = settings_for(api_user(), utcnow())
    db.session.commit()
    return FeedOut(url=feed_url(settings))


@routes.post("/calendar-feed")
@roles(*SALES)
@endpoint("Regenerate my calendar feed URL (the old one stops working)", response=FeedOut)
def regenerate_calendar_feed():
    settings = regenerate_feed_token(api_user(), utcnow())
    db.session.commit()
    return FeedOut(url=feed_url(settings))
