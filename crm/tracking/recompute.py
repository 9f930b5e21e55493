"""Recompute every stored verdict with the current rules (after ``verdicts.py`` changes).

Events are replayed per email and per visitor in time order, each judged against all the
others of its group (a burst's first click becomes a scanner's too). Changed events get their
new verdict and reason, their timeline activity's details follow, and each touched email's
first human open / click is recomputed from its events.

The work is cut into chunks (``recompute_chunk``): emails in id order, then visitors in id
order, then the events of neither, each judged alone, in id order. A chunk starts from a
cursor and returns the next one, so the background job (``crm/tracking/background.py``)
commits each chunk with its progress and a second claim resumes where the first stopped;
``recompute_verdicts`` runs every chunk in one go for the CLI.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.tracking import verdicts
from crm.tracking.events import delivered_at, facts_of, outbound_email, reset_first_human_marks
from crm.tracking.models import TrackingEvent

CHUNK = 200  # emails, visitors or lone events replayed per chunk
STAGES = ("emails", "visitors", "loose", "done")
START: dict = {"stage": "emails", "after": None}
# Events of neither an email nor a visitor: each is judged alone.
_LOOSE = (TrackingEvent.visitor_id.is_(None), TrackingEvent.outbound_email_id.is_(None))


@dataclass(frozen=True)
class RecomputeResult:
    examined: int
    changed: int


@dataclass(frozen=True)
class ChunkResult:
    cursor: dict      # where the next chunk starts (``{"stage": "done"}`` at the end)
    units: int        # emails, visitors and lone events replayed (the job's progress)
    examined: int
    changed: int


def recompute_verdicts(rules: verdicts.Rules = verdicts.DEFAULT_RULES) -> RecomputeResult:
    """Every chunk in one go. Flushes; the caller commits."""
    cursor, examined, changed = dict(START), 0, 0
    while cursor["stage"] != "done":
        chunk = recompute_chunk(cursor, CHUNK, rules)
        cursor, examined, changed = chunk.cursor, examined + chunk.examined, changed + chunk.changed
    return RecomputeResult(examined, changed)


def count_units() -> int:
    """How many emails, visitors and lone events a full recompute replays (the job's total)."""
    emails = db.session.scalar(select(func.count(func.distinct(TrackingEvent.outbound_email_id))))
    visitors = db.session.scalar(select(func.count(func.distinct(TrackingEvent.visitor_id))).where(
        TrackingEvent.outbound_email_id.is_(None)))
    loose = db.session.scalar(select(func.count()).select_from(TrackingEvent).where(*_LOOSE))
    return (emails or 0) + (visitors or 0) + (loose or 0)


def recompute_chunk(cursor: dict, limit: int, rules: verdicts.Rules = verdicts.DEFAULT_RULES) -> ChunkResult:
    """Replay up to ``limit`` emails, visitors or lone events after ``cursor`` (``START`` for
    the first chunk). Groups are replayed whole, so a chunk never splits an email's events.
    Flushes; the caller commits."""
    stage, after = cursor.get("stage", "emails"), cursor.get("after")
    if stage not in STAGES:
        raise ValueError(f"unknown recompute stage {stage!r}")
    examined = changed = 0
    if stage == "emails":
        query = select(TrackingEvent.outbound_email_id).where(TrackingEvent.outbound_email_id.is_not(None))
        keys = _next_keys(query, TrackingEvent.outbound_email_id, after, limit)
        for email_id in keys:
            events = _events(TrackingEvent.outbound_email_id == email_id)
            n = _replay(events, delivered_at(outbound_email(email_id)), rules)
            examined, changed = examined + len(events), changed + n
            if n:
                reset_first_human_marks(email_id)
    elif stage == "visitors":
        query = select(TrackingEvent.visitor_id).where(
            TrackingEvent.visitor_id.is_not(None), TrackingEvent.outbound_email_id.is_(None))
        keys = _next_keys(query, TrackingEvent.visitor_id, after, limit)
        for visitor_id in keys:
            events = _events(TrackingEvent.visitor_id == visitor_id, TrackingEvent.outbound_email_id.is_(None))
            n = _replay(events, None, rules)
            examined, changed = examined + len(events), changed + n
    elif stage == "loose":
        where = [*_LOOSE] + ([TrackingEvent.id > after] if after is not None else [])
        loose = list(db.session.scalars(
            select(TrackingEvent).where(*where).order_by(TrackingEvent.id).limit(limit)).all())
        changed += _replay(loose, None, rules, alone=True)  # judged alone: any cut is safe
        examined += len(loose)
        keys = [event.id for event in loose]
    else:
        return ChunkResult({"stage": "done"}, 0, 0, 0)
    db.session.flush()
    if len(keys) < limit:  # this stage is through: the next one starts from its beginning
        next_cursor = {"stage": STAGES[STAGES.index(stage) + 1], "after": None}
    else:
        next_cursor = {"stage": stage, "after": keys[-1]}
    return ChunkResult(next_cursor, len(keys), examined, changed)


def _next_keys(query, column, after, limit: int) -> list[int]:
    if after is not None:
        query = query.where(column > after)
    return list(db.session.scalars(query.distinct().order_by(column).limit(limit)).all())


def _events(*where) -> list[TrackingEvent]:
    return list(db.session.scalars(
        select(TrackingEvent).where(*where).order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    ).all())


def _replay(events: list[TrackingEvent], delivered, rules, *, alone: bool = False) -> int:
    facts = [facts_of(e) for e in events]
    changed = 0
    for i, event in enumerate(events):
        context = verdicts.Context(delivered, () if alone else facts[:i], () if alone else facts[i + 1:])
        verdict = verdicts.classify(facts[i], context, rules)
        if (verdict.verdict, verdict.reason) != (event.verdict, event.reason):
            event.verdict, event.reason = verdict.verdict, verdict.reason
            _update_activity(event)
            changed += 1
    return changed


def _update_activity(event: TrackingEvent) -> None:
    if event.activity_id is None:
        return
    activity = db.session.get(Activity, event.activity_id)
    if activity is not None:
        activity.details = {**(activity.details or {}), "verdict": event.verdict, "reason": event.reason}
