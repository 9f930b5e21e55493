"""The contact page's sequence panel: the contact's enrollments, every sequence email sent
or scheduled to them (the thread), and the enroll form. A fixed number of queries."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.sequences import engine, library, services
from crm.sequences.models import Enrollment

MAX_ROWS = 50


def load_contact_panel(contact, viewer, now: datetime) -> dict:
    from crm.sequences.forms import EnrollForm
    from crm.web.formhelpers import choice_list

    enrollments = db.session.scalars(
        select(Enrollment).where(Enrollment.contact_id == contact.id)
        .options(joinedload(Enrollment.sequence), joinedload(Enrollment.user), joinedload(Enrollment.current_step))
        .order_by(Enrollment.created_at.desc(), Enrollment.id.desc()).limit(10)
    ).all()
    model = engine.outbound_email_model()
    emails = []
    if model is not None:
        emails = db.session.scalars(
            select(model).where(model.contact_id == contact.id, model.enrollment_id.is_not(None))
            .order_by(model.created_at, model.id).limit(MAX_ROWS)
        ).all()
    form = EnrollForm(formdata=None, data={"contact_id": str(contact.id)})
    form.sequence_id.choices = choice_list([(str(i), n) for i, n in library.sequence_choices()])
    refusal = services.refusal_for(contact, viewer) if viewer.role in ("rep", "manager", "admin") else "not_permitted"
    return {"enrollments": enrollments, "emails": emails, "enroll_form": form,
            "refusal": services.REFUSALS.get(refusal) if refusal else None,
            "can_act": lambda e: services.can_act_for(viewer, e.user)}
