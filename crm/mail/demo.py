"""Demo data of the mail feature: each rep's mailbox (display name, signature, the default
cap and spacing), a few one-off emails already sent (with their ``email_sent`` activity and,
for one, the prospect's reply in the inbound log), one refused by the recipient's server,
and drafts waiting in the outbox. Rows only: drafts are never picked up by the send tick,
and nothing here is sent to anyone."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.contacts.models import Contact
from crm.contacts.services import record_activity
from crm.extensions import db
from crm.mail.models import InboundMessage, OutboundEmail, mailbox_for

REP_KEYS = ("europe", "east", "west")
SENT = [
    ("Following up on our call",
     "Thanks for the call today. As promised, the pump efficiency figures are attached.", 6),
    ("Spare parts lead times", "Quick note on lead times: seals and impellers ship from stock within 3 days.", 3),
]
DRAFT = ("Case study: 18% less downtime", "I thought this case study from a plant like yours might interest you.")


def seed(actors, today, now) -> dict[str, int]:
    counts = {"mailboxes": 0, "outbound_emails": 0, "inbound_messages": 0}
    for key in REP_KEYS:
        rep = actors.get(key)
        if rep is None:
            continue
        mailbox = mailbox_for(rep)
        mailbox.display_name = rep.name
        mailbox.signature = f"{rep.name}\nAccount Executive, Acme Sales\n+49 30 555 0100"
        counts["mailboxes"] += 1
        contacts = db.session.scalars(select(Contact).where(
            Contact.owner_id == rep.id, Contact.do_not_contact.is_(False), Contact.unsubscribed.is_(False))
            .order_by(Contact.id).limit(4)).all()
        if len(contacts) < 4:
            continue
        for contact, (subject, text, days_ago) in zip(contacts, SENT):
            sent_at = now - timedelta(days=days_ago, hours=2)
            email = _row(mailbox, rep, contact, subject, text, "sent", sent_at)
            email.sent_at, email.attempts = sent_at, 1
            db.session.flush()
            record_activity("email_sent", sent_at, contact_id=contact.id, company_id=contact.company_id,
                            user_id=rep.id, details={"outbound_email_id": email.id, "subject": subject,
                                                     "message_id": email.message_id, "to": contact.email,
                                                     "kind": "one_off"})
            counts["outbound_emails"] += 1
        replied = db.session.scalar(select(OutboundEmail).where(
            OutboundEmail.user_id == rep.id, OutboundEmail.status == "sent").order_by(OutboundEmail.id))
        if replied is not None:
            _reply(replied, contacts[0], now)
            counts["inbound_messages"] += 1
        failed = _row(mailbox, rep, contacts[2], "Quick question", "Do you still run the Hamburg plant?",
                      "failed", now - timedelta(days=1))
        failed.attempts, failed.last_error = 1, "550 5.1.1 <mailbox unavailable> (demo)"
        db.session.flush()
        record_activity("email_failed", failed.due_at, contact_id=contacts[2].id, company_id=contacts[2].company_id,
                        user_id=rep.id, details={"outbound_email_id": failed.id, "subject": failed.subject,
                                                 "to": failed.to_address, "reason": failed.last_error})
        _row(mailbox, rep, contacts[3], *DRAFT, "draft", now + timedelta(days=1, hours=2))
        counts["outbound_emails"] += 2
        db.session.flush()
    return counts


def _row(mailbox, rep, contact, subject, text, status, due_at) -> OutboundEmail:
    email = OutboundEmail(
        kind="one_off", user_id=rep.id, contact_id=contact.id, to_address=contact.email, subject=subject,
        text_body=f"Hi {contact.first_name},\n\n{text}\n\n{mailbox.signature}", html_body=None, status=status,
        due_at=due_at, attempts=0, created_at=due_at - timedelta(hours=1),
        # stable ids: the same seed builds the same demo, byte for byte
        message_id=f"<demo-{contact.id}-{status}-{int(due_at.timestamp())}@{mailbox.domain}>")
    db.session.add(email)
    return email


def _reply(email: OutboundEmail, contact: Contact, now) -> None:
    at = (email.sent_at or now) + timedelta(hours=5)
    email.replied_at = at
    db.session.add(InboundMessage(
        dedupe_key=f"mid:<demo-reply-{email.id}@{contact.email.rpartition('@')[2]}>",
        message_id=f"<demo-reply-{email.id}@{contact.email.rpartition('@')[2]}>", source="webhook",
        classification="reply", from_address=contact.email, subject=f"Re: {email.subject}", contact_id=contact.id,
        outbound_email_id=email.id, matched_by="thread", effects={"stopped": [], "paused": []},
        reasons=["human reply: reply subject prefix, In-Reply-To header"], received_at=at))
    record_activity("email_replied", at, contact_id=contact.id, company_id=contact.company_id, user_id=email.user_id,
                    details={"subject": f"Re: {email.subject}", "from": contact.email, "outbound_email_id": email.id,
                             "matched_by": "thread", "excerpt": "Thanks, that helps. Can we talk on Thursday?"})
