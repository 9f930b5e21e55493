"""Deleting a contact must not let its sequence emails go out: the database cascade removes
the enrollments, but queued messages live in the mail outbox (their contact link is only
cut). Before such a flush, cancel what the contact's live enrollments still had queued.

Listened to from ``crm.sequences.services.connect_signals`` (not on import)."""
from __future__ import annotations

from sqlalchemy import select, update

from crm.contacts.models import Contact
from crm.mail.models import OutboundEmail
from crm.sequences.models import LIVE_STATUSES, Enrollment


def cancel_mail_of_deleted_contacts(session, _flush_context, _instances) -> None:
    contact_ids = [obj.id for obj in session.deleted if isinstance(obj, Contact) and obj.id is not None]
    if not contact_ids:
        return
    live = select(Enrollment.id).where(Enrollment.contact_id.in_(contact_ids), Enrollment.status.in_(LIVE_STATUSES))
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.enrollment_id.in_(live), OutboundEmail.status.in_(("queued", "draft")))
        .values(status="cancelled", last_error="cancelled: contact deleted")
        .execution_options(synchronize_session=False))
