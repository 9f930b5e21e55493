"""Deleting a contact must not let its sequence emails go out: the database cascade removes
the enrollments, but queued messages live in the mail outbox (their contact link is only
cut). Before such a flush, cancel what the contact's live enrollments still had queued."""
from __future__ import annotations

import importlib

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from crm.contacts.models import Contact
from crm.sequences.models import LIVE_STATUSES, Enrollment


@event.listens_for(Session, "before_flush")
def cancel_mail_of_deleted_contacts(session, _flush_context, _instances) -> None:
    contact_ids = [obj.id for obj in session.deleted if isinstance(obj, Contact) and obj.id is not None]
    if not contact_ids:
        return
    model = getattr(importlib.import_module("crm.mail.models"), "OutboundEmail", None)
    if model is None:
        return
    live = select(Enrollment.id).where(Enrollment.contact_id.in_(contact_ids), Enrollment.status.in_(LIVE_STATUSES))
    session.execute(
        update(model).where(model.enrollment_id.in_(live), model.status.in_(("queued", "draft")))
        .values(status="cancelled", last_error="cancelled: contact deleted")
        .execution_options(synchronize_session=False))
