"""What an inbound message does: ``process_inbound(raw, now, source)``, called by the
webhook and the IMAP poller alike.

1. **Once.** The message is logged in ``inbound_messages`` under its Message-ID (or a hash of
   the bytes when it has none) *before* anything else is done: the same message arriving by
   webhook and by IMAP, or twice by IMAP, acts once (a concurrent second insert waits on the
   unique index and is refused). A repeat returns what the first one did.
2. **Classify** with the pure classifier (``classify_message``): decided from the message
   alone, whether or not a contact matches, except that a "reply" without any reply cue from
   a sender no contact matches is recorded as "other" (a cold message or newsletter). Our
   own addresses (every mailbox, its aliases, every user) make a message "ours", never a reply.
3. **Match**, in order: ``In-Reply-To`` / ``References`` (and a bounce's original
   Message-ID) against our outbox's Message-IDs; the sender address against contacts (any
   email from a contact counts); a colleague at the same company domain (not free-mail), the
   contact of that domain we emailed last. A colleague's reply stops the sequence only when
   ``MAIL_COLLEAGUE_REPLY_STOPS`` (default on). Bounces match the bounced recipient.
4. **Act**: reply -> ``replied_at``, ``reply_received`` (sequences stop every enrollment,
   'replied'), ``email_replied`` activity, notify the owner, score event; auto-reply ->
   ``out_of_office_received`` (sequences pause until the stated return date (the start of
   that day in the contact's time zone; the date is read relative to the message's own
   ``Date:``, see ``classify.py``), else the sequences default; a return day that has
   already begun ("back today", or a notice read from a backlog after its date) leaves a
   pause that has already ended, which the resume job lifts at its next tick
   (``pause_enrollments_for``)); hard bounce -> address marked bounced,
   ``bounced_at``, ``email_bounced`` (sequences stop, 'bounced'); soft bounce ->
   ``email_bounced`` (sequences retry the step; 3 strikes stop); unsubscribe request ->
   unsubscribed + ``contact_unsubscribed`` (sequences stop, 'unsubscribed'). The signals are
   documented in ``crm/signals.py``. Flushes; the caller commits.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from crm.alerts.services import notify
from crm.auth.models import User
from crm.contacts.models import Company, Contact
from crm.contacts.services import email_domain, is_freemail, record_activity
from crm.extensions import db
from crm.i18n import N_
from crm.mail.inbound.classify import InboundClassification, classify_message, normalize_address
from crm.mail.inbound.parse import parse_mail
from crm.mail.models import InboundMessage, Mailbox, OutboundEmail
from crm.mail.unsubscribe import contact_for_token, token_from_address, unsubscribe_contact
from crm.scoring.services import record_event
from crm.signals import email_bounced, out_of_office_received, receiver_ids, reply_received

log = logging.getLogger(__name__)


@dataclass
class InboundResult:
    classification: str
    bounce_type: str | None = None
    contact_id: int | None = None
    stopped: list[int] = field(default_factory=list)
    paused: list[int] = field(default_factory=list)
    duplicate: bool = False
    matched_by: str | None = None
    inbound_id: int | None = None

    def as_json(self) -> dict:
        return {"classification": self.classification, "bounce_type": self.bounce_type,
                "contact_id": self.contact_id, "stopped": self.stopped, "paused": self.paused}


@dataclass
class _Match:
    contact: Contact | None = None
    email: OutboundEmail | None = None
    matched_by: str | None = None


def process_inbound(raw: bytes, now: datetime, source: str, *, mailbox: Mailbox | None = None) -> InboundResult:
    """Classify, match and act on one raw RFC 822 message (module docstring). Never raises on
    bad mail; flushes, never commits."""
    raw = bytes(raw or b"")
    verdict = classify_message(raw, own_addresses=own_addresses(mailbox), now=now)
    key = dedupe_key(verdict, raw)
    existing = db.session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == key))
    if existing is not None:
        return _replay(existing)
    entry = InboundMessage(
        dedupe_key=key, message_id=(verdict.message_id or "")[:998] or None, source=source,
        mailbox_id=mailbox.id if mailbox else None, classification=verdict.classification,
        bounce_type=verdict.bounce_type, from_address=(verdict.from_address or "")[:254] or None,
        subject=verdict.subject[:998], effects={}, reasons=list(verdict.reasons)[:20], received_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:  # the same message is being processed right now by another way in
        existing = db.session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == key))
        return _replay(existing) if existing else InboundResult(verdict.classification, duplicate=True)
    match = _match(verdict, raw) if not verdict.is_own_message else _Match()
    verdict = _unknown_sender_without_cues(verdict, match, entry)
    result = InboundResult(verdict.classification, verdict.bounce_type,
                           match.contact.id if match.contact else None, matched_by=match.matched_by)
    if match.contact is not None:
        _ACTIONS.get(verdict.classification, _nothing)(verdict, match, now, result)
    entry.contact_id = result.contact_id
    entry.outbound_email_id = match.email.id if match.email else None
    entry.matched_by = match.matched_by
    entry.effects = {"stopped": result.stopped, "paused": result.paused}
    db.session.flush()
    result.inbound_id = entry.id
    log.info("inbound %s via %s: %s, contact %s (%s), stopped %s, paused %s", verdict.message_id, source,
             verdict.classification, result.contact_id, match.matched_by, result.stopped, result.paused)
    return result


def _unknown_sender_without_cues(verdict: InboundClassification, match: _Match,
                                 entry: InboundMessage) -> InboundClassification:
    """A "reply" without any reply cue (no Re:, In-Reply-To, References or quote) counts only
    from someone we know: from an unknown sender it is a cold message or a newsletter,
    'other' (issue 24)."""
    if verdict.classification != "reply" or verdict.reply_cues or match.contact is not None:
        return verdict
    why = "an unknown sender's message without reply cues: other, not a reply"
    verdict = replace(verdict, classification="other", reasons=(*verdict.reasons, why))
    entry.classification = verdict.classification
    entry.reasons = list(verdict.reasons)[:20]
    return verdict


def dedupe_key(verdict: InboundClassification, raw: bytes) -> str:
    if verdict.message_id:
        return "mid:" + verdict.message_id.lower()[:290]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _replay(entry: InboundMessage) -> InboundResult:
    effects = entry.effects or {}
    return InboundResult(entry.classification, entry.bounce_type, entry.contact_id,
                         list(effects.get("stopped", [])), list(effects.get("paused", [])),
                         duplicate=True, matched_by=entry.matched_by, inbound_id=entry.id)


def own_addresses(mailbox: Mailbox | None) -> set[str]:
    """Every address of ours: all users and mailboxes (a forwarded copy of another rep's
    message is not a prospect's reply either)."""
    addresses = set(db.session.scalars(select(User.email)))
    for from_address, aliases in db.session.execute(select(Mailbox.from_address, Mailbox.aliases)):
        addresses.add(from_address)
        addresses.update(aliases or [])
    if mailbox is not None:
        addresses.update(mailbox.own_addresses)
    return {a.lower() for a in addresses if a}


# --- matching ------------------------------------------------------------------------------

def _match(verdict: InboundClassification, raw: bytes) -> _Match:
    if verdict.classification == "bounce":
        return _match_bounce(verdict)
    if verdict.classification == "unsubscribe_request":
        by_token = _match_unsubscribe_token(raw)
        if by_token.contact is not None:
            return by_token
    thread = _match_thread([*verdict.in_reply_to, *reversed(verdict.references)])
    if thread.email is not None and thread.contact is not None:
        sender = verdict.from_address or ""
        if sender and sender != thread.contact.email and _same_company(sender, thread.contact):
            thread.matched_by = "colleague"
        return thread
    if verdict.from_address:
        contact = db.session.scalar(select(Contact).where(Contact.email == verdict.from_address))
        if contact is not None:
            return _Match(contact, _last_sent_to(contact.id), "sender")
        return _match_colleague(verdict.from_address)
    return _Match()


def _match_thread(message_ids) -> _Match:
    ids = [m for m in message_ids if m][:50]
    if not ids:
        return _Match()
    emails = db.session.scalars(select(OutboundEmail).where(OutboundEmail.message_id.in_(ids))).all()
    by_id = {e.message_id: e for e in emails}
    for message_id in ids:  # In-Reply-To first, then the newest reference
        email = by_id.get(message_id)
        if email is not None:
            contact = db.session.get(Contact, email.contact_id) if email.contact_id else None
            return _Match(contact, email, "thread")
    return _Match()


def _match_bounce(verdict: InboundClassification) -> _Match:
    ids = [verdict.original_message_id, *verdict.in_reply_to, *verdict.references]
    match = _match_thread(ids)
    if match.contact is not None:
        match.matched_by = "bounce_original"
        return match
    for address in verdict.bounced_recipients:
        contact = db.session.scalar(select(Contact).where(Contact.email == normalize_address(address)))
        if contact is not None:
            return _Match(contact, _last_sent_to(contact.id), "bounced_recipient")
    return _Match()


def _match_unsubscribe_token(raw: bytes) -> _Match:
    parsed = parse_mail(raw)
    for header in ("To", "Delivered-To", "X-Original-To", "Cc"):
        for address in parsed.addresses(header):
            token = token_from_address(address)
            if token:
                contact, email = contact_for_token(token)
                if contact is not None:
                    return _Match(contact, email, "unsubscribe_token")
    return _Match()


def _same_company(sender: str, contact: Contact) -> bool:
    domain = email_domain(sender)
    if is_freemail(domain):
        return False
    company_domain = contact.company.domain if contact.company else None
    return domain in {email_domain(contact.email), company_domain}


def _match_colleague(sender: str) -> _Match:
    """The contact at the sender's company (by email or company domain) we emailed last."""
    domain = email_domain(sender)
    if is_freemail(domain):
        return _Match()
    email = db.session.scalar(
        select(OutboundEmail).join(Contact, Contact.id == OutboundEmail.contact_id)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(OutboundEmail.status == "sent",
               or_(Contact.email.like(f"%@{_escape_like(domain)}", escape="\\"), Company.domain == domain))
        .order_by(OutboundEmail.sent_at.desc(), OutboundEmail.id.desc()).limit(1))
    if email is None:
        return _Match()
    return _Match(db.session.get(Contact, email.contact_id), email, "colleague")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _last_sent_to(contact_id: int) -> OutboundEmail | None:
    return db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.contact_id == contact_id, OutboundEmail.status == "sent")
        .order_by(OutboundEmail.sent_at.desc(), OutboundEmail.id.desc()).limit(1))


# --- effects -------------------------------------------------------------------------------

def _on_reply(verdict, match: _Match, now, result: InboundResult) -> None:
    contact, email = match.contact, match.email
    if email is not None and email.replied_at is None:
        email.replied_at = now
    colleague = match.matched_by == "colleague"
    ends_outreach = not colleague or bool(current_app.config.get("MAIL_COLLEAGUE_REPLY_STOPS", True))
    result.stopped = receiver_ids(reply_received.send(contact, email=email, ends_outreach=ends_outreach, now=now))
    record_activity("email_replied", now, contact_id=contact.id, company_id=contact.company_id,
                    user_id=email.user_id if email else contact.owner_id,
                    details={"subject": verdict.subject[:300], "from": verdict.from_address,
                             "message_id": verdict.message_id, "outbound_email_id": email.id if email else None,
                             "matched_by": match.matched_by, "excerpt": verdict.text[:500],
                             "stopped_enrollments": result.stopped})
    who = verdict.from_name or verdict.from_address or contact.full_name
    owner_id = contact.owner_id or (email.user_id if email else None)
    notify(owner_id, "reply", N_("%(who)s replied: %(subject)s"), params={"who": who, "subject": verdict.subject[:120]},
           now=now, contact_id=contact.id,
           url=f"/contacts/{contact.id}")
    if not colleague:
        record_event(contact.id, "email_replied", now)


def _on_auto_reply(verdict, match: _Match, now, result: InboundResult) -> None:
    until = None
    if verdict.return_date is not None:
        zone = ZoneInfo(match.contact.effective_time_zone)
        until = datetime.combine(verdict.return_date, time(0, 0), zone).astimezone(timezone.utc)
    result.paused = receiver_ids(out_of_office_received.send(match.contact, until=until, now=now))


def _on_bounce(verdict, match: _Match, now, result: InboundResult) -> None:
    contact, email = match.contact, match.email
    if verdict.bounce_type == "hard":
        contact.email_bounced_at = contact.email_bounced_at or now
        if email is not None:
            email.bounced_at = email.bounced_at or now
    db.session.flush()
    result.stopped = receiver_ids(email_bounced.send(contact, bounce_type=verdict.bounce_type, email=email, now=now))
    record_activity("email_bounced", now, contact_id=contact.id, company_id=contact.company_id,
                    user_id=email.user_id if email else None,
                    details={"bounce_type": verdict.bounce_type, "status": verdict.dsn_status,
                             "outbound_email_id": email.id if email else None,
                             "address": contact.email, "stopped_enrollments": result.stopped})


def _on_unsubscribe(verdict, match: _Match, now, result: InboundResult) -> None:
    result.stopped = unsubscribe_contact(match.contact, now, via="email", email=match.email)


def _nothing(verdict, match, now, result) -> None:
    return None


_ACTIONS = {"reply": _on_reply, "auto_reply": _on_auto_reply, "bounce": _on_bounce,
            "unsubscribe_request": _on_unsubscribe}


def count_inbound(contact_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(InboundMessage)
                             .where(InboundMessage.contact_id == contact_id)) or 0
