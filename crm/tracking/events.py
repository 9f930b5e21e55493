"""Storing one tracking event: its verdict, its row, and what a *human* event sets off.

Every event (machine ones included) gets a ``TrackingEvent`` row and, when the contact is
known, a timeline activity whose details carry the verdict and reason, so the raw signal stays
visible. Only human events move anything: the email's first human open / click (kept by mail,
told through ``crm.signals.email_engaged``), the contact's engagement score
(``crm.scoring.services.record_event``) and hot-lead alerts for the owner
(``crm.alerts.services.notify``). Tracking never imports mail (mail calls tracking to instrument
what it sends): what it needs to know of an email comes through the signals in
``crm/signals.py``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from crm.alerts.services import notify
from crm.contacts.models import Contact
from crm.contacts.services import record_activity
from crm.extensions import db
from crm.i18n import N_
from crm.scoring.services import record_event
from crm.signals import email_engaged, email_engagement_recomputed, tracked_email_requested
from crm.tracking import verdicts
from crm.tracking.models import TrackingEvent

log = logging.getLogger(__name__)

CONTEXT_LIMIT = 50
DEFAULT_HOT_PAGES = ("pricing", "demo", "quote", "contact-sales", "buy")


@dataclass(frozen=True)
class RequestFacts:
    """What the web layer knows about the request behind an event."""

    ip: str | None
    user_agent: str | None
    method: str = "GET"


def outbound_email(email_id: int | None):
    """What mail knows of one of its emails (``sent_at``, ``subject``), asked through
    ``tracked_email_requested``; None when mail has no such email."""
    if email_id is None:
        return None
    for _receiver, email in tracked_email_requested.send(email_id):
        if email is not None:
            return email
    return None


def delivered_at(email) -> datetime | None:
    return getattr(email, "sent_at", None) if email is not None else None


def is_hot_page(url: str | None) -> bool:
    """Pages that mean buying intent (pricing, demo...), from ``TRACKING_HOT_PAGES``."""
    if not url:
        return False
    path = urlsplit(url).path.lower()
    patterns = current_app.config.get("TRACKING_HOT_PAGES", DEFAULT_HOT_PAGES)
    return any(p and p in path for p in patterns)


def recent_facts(*, email_id: int | None = None, visitor_id: int | None = None,
                 since: datetime) -> list[tuple[TrackingEvent, verdicts.EventFacts]]:
    """Events of the same email (or visitor) since ``since``: the context of the rules. At
    most the newest ``CONTEXT_LIMIT``, so a scanner hammering one link costs no more per
    request than a person does."""
    query = select(TrackingEvent).where(TrackingEvent.occurred_at >= since)
    if email_id is not None:
        query = query.where(TrackingEvent.outbound_email_id == email_id)
    else:
        query = query.where(TrackingEvent.visitor_id == visitor_id)
    rows = db.session.scalars(
        query.order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc()).limit(CONTEXT_LIMIT)).all()
    return [(e, facts_of(e)) for e in reversed(rows)]


def target_of(event: TrackingEvent) -> str | None:
    if event.kind == "email_clicked":
        return f"link:{event.link_id}"
    if event.kind == "email_opened":
        return f"email:{event.outbound_email_id}"
    return event.url


def facts_of(event: TrackingEvent) -> verdicts.EventFacts:
    return verdicts.EventFacts(
        kind=event.kind, occurred_at=event.occurred_at, method=event.method or "GET",
        ip=event.ip, user_agent=event.user_agent, target=target_of(event),
    )


def context_window() -> timedelta:
    rules = verdicts.DEFAULT_RULES
    return timedelta(seconds=max(rules.duplicate_window_seconds, rules.same_second_window) + 1)


def store_event(event: TrackingEvent, *, delivered: datetime | None = None,
                subject: str | None = None, contact: Contact | None = None) -> TrackingEvent:
    """Classify ``event`` against its recent neighbours, store it, and run the side effects.
    Flushes, never commits."""
    since = event.occurred_at - context_window()
    if event.outbound_email_id is not None:
        neighbours = recent_facts(email_id=event.outbound_email_id, since=since)
    elif event.visitor_id is not None:
        neighbours = recent_facts(visitor_id=event.visitor_id, since=since)
    else:
        neighbours = []
    verdict = verdicts.classify(facts_of(event), verdicts.Context(delivered, [f for _e, f in neighbours]))
    event.verdict, event.reason = verdict.verdict, verdict.reason
    if verdict.reason == "several links clicked in the same second":
        _mark_burst_siblings(event, neighbours)
    if contact is None and event.contact_id is not None:
        contact = db.session.get(Contact, event.contact_id)
    if contact is not None:
        event.activity_id = write_activity(event, contact, subject).id
    db.session.add(event)
    db.session.flush()
    if verdict.is_human and contact is not None:
        on_human_event(event, contact, subject)
    return event


def _mark_burst_siblings(event: TrackingEvent, neighbours) -> None:
    """The first click of a burst looked human when it arrived; now we know better."""
    for other, facts in neighbours:
        if other.kind == "email_clicked" and other.link_id != event.link_id and other.verdict == "human" \
                and abs((event.occurred_at - other.occurred_at).total_seconds()) <= \
                verdicts.DEFAULT_RULES.same_second_window:
            other.verdict, other.reason = "scanner", "several links clicked in the same second"
            reset_first_human_marks(other.outbound_email_id)


def activity_details(event: TrackingEvent, subject: str | None) -> dict:
    details = {"verdict": event.verdict, "reason": event.reason, "ip": event.ip,
               "user_agent": event.user_agent}
    if subject is not None:
        details["subject"] = subject
    if event.url:
        details["url"] = event.url
    if event.title:
        details["title"] = event.title
    if event.outbound_email_id is not None:
        details["outbound_email_id"] = event.outbound_email_id
    return details


def write_activity(event: TrackingEvent, contact: Contact, subject: str | None):
    return record_activity(
        event.kind, event.occurred_at, contact_id=contact.id, company_id=contact.company_id,
        details=activity_details(event, subject),
    )


def on_human_event(event: TrackingEvent, contact: Contact, subject: str | None, *, alert: bool = True) -> None:
    """First human open/click on the email, the score, and an alert for the owner (not for
    old views backfilled when a visitor becomes known: nobody is reading *now*)."""
    first = _mark_first_human(event)
    _score(event, contact)
    if alert and (first or (event.kind in ("page_viewed", "form_submitted") and event.high_value)):
        _alert(event, contact, subject)


def _mark_first_human(event: TrackingEvent) -> bool:
    """Tell mail a person opened / clicked the email (it keeps the first time); True when this
    is the email's first human open (click)."""
    if event.kind not in ("email_opened", "email_clicked") or event.outbound_email_id is None:
        return False
    answers = email_engaged.send(event.outbound_email_id, kind=event.kind, occurred_at=event.occurred_at)
    return any(first for _receiver, first in answers)


def reset_first_human_marks(email_id: int | None) -> None:
    """Recompute an email's first human open / click from its events (after verdicts change)
    and tell mail (``email_engagement_recomputed``)."""
    if email_id is None:
        return
    db.session.flush()
    first = {}
    for kind in ("email_opened", "email_clicked"):
        first[kind] = db.session.scalar(
            select(TrackingEvent.occurred_at).where(
                TrackingEvent.outbound_email_id == email_id, TrackingEvent.kind == kind,
                TrackingEvent.verdict == "human",
            ).order_by(TrackingEvent.occurred_at).limit(1)
        )
    email_engagement_recomputed.send(email_id, first_open_at=first["email_opened"],
                                     first_click_at=first["email_clicked"])


def _score(event: TrackingEvent, contact: Contact) -> None:
    record_event(contact.id, event.kind, event.occurred_at, url=event.url)


def alert_message(event: TrackingEvent, contact: Contact, subject: str | None) -> tuple[str, dict[str, str]]:
    """The hot-lead alert as data: an ``N_``-marked message and its values (``alerts.notify``)."""
    name = contact.full_name
    if event.kind in ("email_opened", "email_clicked") and not subject:
        return (N_("%(name)s is reading 'your email' now: call") if event.kind == "email_opened"
                else N_("%(name)s clicked a link in 'your email': call")), {"name": name}
    if event.kind == "email_opened":
        return N_("%(name)s is reading '%(subject)s' now: call"), {"name": name, "subject": subject or ""}
    if event.kind == "email_clicked":
        return N_("%(name)s clicked a link in '%(subject)s': call"), {"name": name, "subject": subject or ""}
    if event.kind == "form_submitted":
        if not event.label:
            return N_("%(name)s submitted a form on your site: call"), {"name": name}
        return N_("%(name)s submitted a form on %(page)s: call"), {"name": name, "page": event.label}
    return N_("%(name)s is reading %(page)s now: call"), {"name": name, "page": event.label or event.url or ""}


def _alert(event: TrackingEvent, contact: Contact, subject: str | None) -> None:
    if contact.owner_id is None:
        return
    message, params = alert_message(event, contact, subject)
    notify(contact.owner_id, "hot_lead", message, params=params,
           now=event.occurred_at, contact_id=contact.id, url=f"/contacts/{contact.id}")
