"""Recompute every stored verdict with the current rules (after ``verdicts.py`` changes).

Events are replayed per email and per visitor in time order, each judged against all the
others of its group (a burst's first click becomes a scanner's too). Changed events get their
new verdict and reason, their timeline activity's details follow, and each touched email's
first human open / click is recomputed from its events.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.tracking import verdicts
from crm.tracking.events import delivered_at, facts_of, outbound_email, reset_first_human_marks
from crm.tracking.models import TrackingEvent


@dataclass(frozen=True)
class RecomputeResult:
    examined: int
    changed: int


def recompute_verdicts(rules: verdicts.Rules = verdicts.DEFAULT_RULES) -> RecomputeResult:
    """Flushes; the caller commits."""
    examined = changed = 0
    email_ids = db.session.scalars(
        select(TrackingEvent.outbound_email_id).where(TrackingEvent.outbound_email_id.is_not(None)).distinct()
    ).all()
    for email_id in email_ids:
        events = _events(TrackingEvent.outbound_email_id == email_id)
        n = _replay(events, delivered_at(outbound_email(email_id)), rules)
        examined, changed = examined + len(events), changed + n
        if n:
            reset_first_human_marks(email_id)
    visitor_ids = db.session.scalars(
        select(TrackingEvent.visitor_id).where(
            TrackingEvent.visitor_id.is_not(None), TrackingEvent.outbound_email_id.is_(None)).distinct()
    ).all()
    for visitor_id in visitor_ids:
        events = _events(TrackingEvent.visitor_id == visitor_id, TrackingEvent.outbound_email_id.is_(None))
        n = _replay(events, None, rules)
        examined, changed = examined + len(events), changed + n
    loose = _events(TrackingEvent.visitor_id.is_(None), TrackingEvent.outbound_email_id.is_(None))
    changed += _replay(loose, None, rules, alone=True)
    examined += len(loose)
    db.session.flush()
    return RecomputeResult(examined, changed)


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
