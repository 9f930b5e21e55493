"""The contact page's sequence panel: the contact's enrollments, every sequence email sent
or scheduled to them (the thread), and the enroll form. A fixed number of queries."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.sequences import library
from crm.sequences.enrollments import REFUSALS, can_act_for, refusal_for
from crm.sequences.forms import EnrollForm
from crm.sequences.models import Enrollment
from crm.web.formhelpers import choice_list

MAX_ROWS = 50


def load_contact_panel(contact, viewer, now: datetime) -> dict:
    enrollments = db.session.scalars(
        select(Enrollment).where(Enrollment.contact_id == contact.id)
        .options(joinedload(Enrollment.sequence), joinedload(Enrollment.user), joinedload(Enrollment.current_step))
        .order_by(Enrollment.created_at.desc(), Enrollment.id.desc()).limit(10)
    ).all()
    emails = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.contact_id == contact.id, OutboundEmail.enrollment_id.is_not(None))
        .order_by(OutboundEmail.created_at, OutboundEmail.id).limit(MAX_ROWS)
    ).all()
    form = EnrollForm(formdata=None, data={"contact_id": str(contact.id)})
    form.sequence_id.choices = choice_list([(str(i), n) for i, n in library.sequence_choices(viewer.id)])
    refusal = refusal_for(contact, viewer) if viewer.role in ("rep", "manager", "admin") else "not_permitted"
    return {"enrollments": enrollments, "emails": emails, "enroll_form": form,
            "refusal": REFUSALS.get(refusal) if refusal else None,
            "can_act": lambda e: can_act_for(viewer, e.user)}
