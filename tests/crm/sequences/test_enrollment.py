"""Enrolling one or many contacts (refusals per contact), stopping, pausing and resuming."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.contacts.models import Activity
from crm.errors import Conflict, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.sequences import services
from crm.sequences.models import Enrollment
from tests.conftest import NOW

UTC = timezone.utc


def test_enroll_sets_the_first_step_due_inside_the_contacts_window(rep, tokyo_contact, sequence):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    assert enrollment.status == "active" and enrollment.current_step_id == sequence.steps[0].id
    # NOW is Tuesday 14:30 UTC = 23:30 in Tokyo: the first email waits for Wednesday 08:00 Tokyo
    # (23:00 UTC Tuesday), plus the enrollment's small stable jitter.
    opens = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    assert opens <= enrollment.next_due_at < opens + timedelta(minutes=15)
    kinds = db.session.scalars(select(Activity.kind).where(Activity.contact_id == tokyo_contact.id)).all()
    assert "sequence_enrolled" in kinds


@pytest.mark.parametrize("flag, reason", [
    ({"do_not_contact": True}, "do_not_contact"),
    ({"unsubscribed": True}, "unsubscribed"),
    ({"email_bounced_at": NOW}, "bounced"),
])
def test_refusals_one_by_one(rep, make_contact, sequence, flag, reason):
    contact = make_contact(owner_id=rep.id, actor=rep)
    for key, value in flag.items():
        setattr(contact, key, value)
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        services.enroll_contact(rep, sequence.id, contact.id, NOW)
    assert services.REFUSALS[reason] in refused.value.message


def test_bulk_enrollment_reports_each_refusal(rep, make_contact, sequence, tokyo_contact, charlie):
    ok = make_contact(owner_id=rep.id, actor=rep)
    dnc = make_contact(owner_id=rep.id, actor=rep, do_not_contact=True)
    unsub = make_contact(owner_id=rep.id, actor=rep, unsubscribed=True)
    bounced = make_contact(owner_id=rep.id, actor=rep)
    bounced.email_bounced_at = NOW
    not_mine = make_contact(owner_id=charlie.id, actor=charlie)
    db.session.commit()
    services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    report = services.enroll_contacts(
        rep, sequence.id, [ok.id, dnc.id, unsub.id, bounced.id, tokyo_contact.id, not_mine.id, 999999], NOW)
    db.session.commit()
    assert len(report.enrolled) == 1
    reasons = {r["contact_id"]: r["reason"] for r in report.refused}
    assert reasons == {dnc.id: "do_not_contact", unsub.id: "unsubscribed", bounced.id: "bounced",
                       tokyo_contact.id: "already_active", not_mine.id: "not_permitted", 999999: "not_found"}


def test_bulk_from_the_contacts_filter(rep, make_contact, sequence):
    for n in range(3):
        make_contact(owner_id=rep.id, actor=rep, lifecycle_stage="mql", first_name=f"Mql{n}")
    make_contact(owner_id=rep.id, actor=rep, lifecycle_stage="customer")
    report = services.enroll_filtered(rep, sequence.id, {"q": "", "owner_id": rep.id, "stage": "mql"}, NOW)
    db.session.commit()
    assert len(report.enrolled) == 3 and report.refused == []


def test_the_database_allows_one_live_enrollment_per_contact(rep, tokyo_contact, sequence):
    services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    with pytest.raises(Conflict):
        services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.rollback()
    # Even bypassing the service check, the partial unique index refuses a second live row.
    db.session.add(Enrollment(sequence_id=sequence.id, contact_id=tokyo_contact.id, user_id=rep.id, status="paused",
                              completed_step_ids=[], created_at=NOW, updated_at=NOW))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # A finished or stopped one does not count.
    services.stop_enrollments_for(tokyo_contact, "manual", rep, NOW)
    db.session.commit()
    assert services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW + timedelta(days=1)).status == "active"
    db.session.commit()


def test_stop_reasons_and_activity(rep, tokyo_contact, sequence):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    assert services.stop_enrollments_for(tokyo_contact, "replied", None, NOW) == [enrollment.id]
    db.session.commit()
    assert (enrollment.status, enrollment.stop_reason, enrollment.next_due_at) == ("stopped", "replied", None)
    stopped = db.session.scalar(select(Activity).where(Activity.kind == "sequence_stopped"))
    assert stopped.details["reason"] == "replied"
    with pytest.raises(ValueError):
        services.stop_enrollments_for(tokyo_contact, "bored", None, NOW)
    assert services.stop_enrollments_for(tokyo_contact, "bounced", None, NOW) == []  # nothing live


def test_pause_and_resume_move_due_dates_by_the_paused_time(rep, tokyo_contact, sequence):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    due = enrollment.next_due_at
    services.pause_enrollment(rep, enrollment.id, None, NOW)
    db.session.commit()
    assert enrollment.status == "paused"
    back = NOW + timedelta(days=7)  # a week later, same time of day
    services.resume_enrollment(rep, enrollment.id, back)
    db.session.commit()
    assert enrollment.status == "active"
    assert enrollment.next_due_at == due + timedelta(days=7)  # no backlog fires on return


def test_holiday_pauses_all_of_a_reps_enrollments_and_managers_may_do_it(rep, mallory, charlie, make_contact, sequence):
    contacts = [make_contact(owner_id=rep.id, actor=rep) for _ in range(3)]
    report = services.enroll_contacts(rep, sequence.id, [c.id for c in contacts], NOW)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.pause_all_for_user(charlie, rep.id, None, NOW)
    paused = services.pause_all_for_user(mallory, rep.id, NOW + timedelta(days=10), NOW)
    db.session.commit()
    assert sorted(paused) == sorted(report.enrolled)
    assert services.resume_due_pauses(NOW + timedelta(days=9)) == 0
    assert services.resume_due_pauses(NOW + timedelta(days=10)) == 3
    db.session.commit()
    assert {e.status for e in db.session.scalars(select(Enrollment))} == {"active"}


def test_out_of_office_pause_uses_the_default_days_without_a_date(app, rep, tokyo_contact, sequence):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    assert services.pause_enrollments_for(tokyo_contact, "out_of_office", None, NOW) == [enrollment.id]
    db.session.commit()
    assert enrollment.pause_reason == "out_of_office"
    assert enrollment.paused_until == NOW + timedelta(days=app.config.get("SEQUENCE_PAUSE_DEFAULT_DAYS", 14))


def test_reps_act_only_on_their_own_enrollments(rep, bob, mallory, tokyo_contact, sequence):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.stop_enrollment(bob, enrollment.id, "manual", NOW)
    services.stop_enrollment(mallory, enrollment.id, "manual", NOW)  # rep is on mallory's team
    db.session.commit()
    assert enrollment.stop_reason == "manual"
