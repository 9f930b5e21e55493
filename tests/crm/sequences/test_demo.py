"""The demo: templates, two sequences per rep, enrollments in every state, nothing due in the
past (the demo never emails anyone on its own), and running it twice adds nothing."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.sequences import demo
from crm.sequences.models import Enrollment, SequenceTask
from crm.sequences.services import run_due_steps
from crm.timeutil import utcnow
from tests.conftest import NOW


def test_demo_seeds_a_living_feature_without_sending(make_user, make_contact, make_company, mallory):
    actors = {"admin": make_user("admin"), "manager": mallory}
    for key, zone in (("europe", "Europe/Berlin"), ("east", "America/New_York"), ("west", "America/Los_Angeles")):
        rep = make_user("rep", time_zone=zone, manager_id=mallory.id)
        actors[key] = rep
        company = make_company(time_zone=zone)
        for _ in range(14):
            make_contact(owner_id=rep.id, actor=rep, company_id=company.id)
    counts = demo.seed(actors, NOW.date(), NOW)
    db.session.commit()
    assert counts == {"sequence_templates": 6, "sequences": 6, "enrollments": 42}
    statuses = dict(db.session.execute(select(Enrollment.status, func.count()).group_by(Enrollment.status)).all())
    assert set(statuses) == {"active", "paused", "finished", "stopped"}
    reasons = set(db.session.scalars(select(Enrollment.stop_reason).where(Enrollment.stop_reason.is_not(None))))
    assert reasons == {"replied", "bounced"}
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail).where(OutboundEmail.status == "sent")) > 20
    assert db.session.scalar(select(func.count()).select_from(SequenceTask).where(SequenceTask.done_at.is_(None))) > 0
    # Nothing is queued, and no step is due before the real clock: the worker sends nothing now.
    queued = select(func.count()).select_from(OutboundEmail).where(OutboundEmail.status == "queued")
    assert db.session.scalar(queued) == 0
    assert run_due_steps(max(NOW, utcnow()) + timedelta(hours=1)) == {}
    # Demo history lies before the reference day's midnight, like the core demo's.
    midnight = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    late = db.session.execute(select(Activity.kind, Activity.occurred_at).where(
        Activity.occurred_at >= midnight, Activity.kind != "contact_created")).all()
    assert late == []
    assert demo.seed(actors, NOW.date(), NOW) == {}
