"""The step job: due steps become queued emails (once), follow-ups thread under the first
email, tasks for call/manual steps, the enrollment advances when the email is SENT, soft
bounces retry, and two workers ticking at once enqueue each step exactly once (PostgreSQL)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.sequences import hooks, library, services, tasks
from crm.sequences.models import Enrollment, SequenceTask
from crm.sequences.services import run_due_steps
from tests.conftest import NOW


def _emails(enrollment_id=None):
    query = select(OutboundEmail).order_by(OutboundEmail.id)
    if enrollment_id is not None:
        query = query.where(OutboundEmail.enrollment_id == enrollment_id)
    return db.session.scalars(query).all()


_HOOK = {"mode": "one"}


@pytest.fixture(autouse=True, params=["one", "batch"])
def hook_mode(request):
    """Every test here runs with the single-email hook and with the batch hook the send tick
    uses (``on_emails_sent``): both must move enrollments on the same way."""
    _HOOK["mode"] = request.param
    yield request.param


def _sent(email, at):
    """What the mail send tick does once SMTP accepted the message."""
    email.status, email.sent_at = "sent", at
    if _HOOK["mode"] == "batch":
        db.session.flush()
        hooks.on_emails_sent([email])
    else:
        hooks.on_email_sent(email, at)
    db.session.commit()


@pytest.fixture
def enrolled(rep, tokyo_contact, sequence):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    return enrollment


def test_nothing_runs_before_the_window_opens(enrolled):
    assert run_due_steps(NOW + timedelta(hours=8)) == {}  # 22:30 UTC = 07:30 Tokyo
    assert _emails() == []


def test_the_first_step_is_rendered_and_queued_once(enrolled, tokyo_contact):
    at = enrolled.next_due_at
    assert run_due_steps(at) == {"auto_email": 1}
    db.session.commit()
    assert run_due_steps(at + timedelta(minutes=5)) == {}  # claimed: never twice
    db.session.commit()
    [email] = _emails()
    assert email.status == "queued" and email.kind == "sequence"
    assert email.subject == "Pumps for Nippon Pumps"
    assert email.text_body.startswith("Hi Yuki,\nwe make pumps.\nRay Rep")
    assert email.html_body.startswith("<p>Hi Yuki,</p>")
    assert (email.enrollment_id, email.step_id, email.to_address) == (enrolled.id, enrolled.current_step_id,
                                                                      "yuki@nippon-pumps.jp")
    assert email.in_reply_to is None and email.references is None
    assert email.message_id.startswith("<") and email.message_id.endswith(">")
    assert enrolled.awaiting == "email" and enrolled.next_due_at is None
    assert enrolled.thread_message_id == email.message_id


def test_follow_ups_thread_under_the_first_email_and_the_call_becomes_a_task(rep, enrolled, sequence):
    first_due = enrolled.next_due_at
    run_due_steps(first_due)
    db.session.commit()
    [first] = _emails()
    _sent(first, first_due + timedelta(minutes=1))
    assert enrolled.current_step_id == sequence.steps[1].id
    # Two of the rep's business days later (New York calendar), inside the Tokyo window.
    assert enrolled.next_due_at >= first_due + timedelta(days=2)
    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    follow_up = _emails()[-1]
    assert follow_up.subject == "Re: Pumps for Nippon Pumps"
    assert follow_up.in_reply_to == first.message_id and follow_up.references == first.message_id
    assert follow_up.text_body == "Just checking in, Yuki."
    _sent(follow_up, enrolled.updated_at + timedelta(days=2, minutes=1))
    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    [task] = db.session.scalars(select(SequenceTask)).all()
    assert (task.kind, task.note, task.owner_id) == ("call", "Ask about the tender", rep.id)
    due = tasks.due_call_tasks(rep.id, task.due_at)
    assert [(d.task_id, d.step_position, d.sequence_name) for d in due] == [(task.id, 3, "Outbound Q2")]
    assert tasks.complete_call_task(task.id, rep, task.due_at, "connected") is True
    assert tasks.complete_call_task(task.id, rep, task.due_at, "connected") is False  # a second tab
    db.session.commit()
    assert enrolled.status == "finished" and enrolled.steps_done == 3


def test_a_step_with_new_thread_starts_its_own_subject(rep, enrolled, sequence):
    library.update_step(rep, sequence.id, sequence.steps[1].id, {"new_thread": True}, NOW)
    db.session.commit()
    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    _sent(_emails()[0], enrolled.updated_at)
    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    second = _emails()[-1]
    assert second.subject == "ignored for a follow-up" and second.in_reply_to is None


def test_the_email_is_not_sent_for_a_contact_who_unsubscribed_meanwhile(enrolled, tokyo_contact):
    tokyo_contact.unsubscribed = True
    db.session.commit()
    assert run_due_steps(enrolled.next_due_at) == {"stopped:unsubscribed": 1}
    db.session.commit()
    assert _emails() == [] and enrolled.stop_reason == "unsubscribed"


def test_stopping_cancels_the_queued_email(enrolled, tokyo_contact):
    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    services.stop_enrollments_for(tokyo_contact, "meeting_booked", None, NOW + timedelta(hours=9))
    db.session.commit()
    [email] = _emails()
    db.session.refresh(email)
    assert email.status == "cancelled" and enrolled.stop_reason == "meeting_booked"


def test_pausing_withdraws_the_queued_email_and_resuming_renders_it_again(rep, enrolled):
    due = enrolled.next_due_at
    run_due_steps(due)
    db.session.commit()
    services.pause_enrollment(rep, enrolled.id, None, due + timedelta(minutes=1))
    db.session.commit()
    assert run_due_steps(due + timedelta(days=3)) == {}  # paused: nothing fires
    services.resume_enrollment(rep, enrolled.id, due + timedelta(days=3))
    db.session.commit()
    assert enrolled.next_due_at >= due + timedelta(days=3)
    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    statuses = [e.status for e in _emails()]
    assert statuses == ["cancelled", "queued"]


def test_soft_bounces_retry_the_step_and_the_third_stops(app, enrolled):
    for strike in range(1, 4):
        due = enrolled.next_due_at
        run_due_steps(due)
        db.session.commit()
        email = _emails()[-1]
        _sent(email, due)
        hooks.on_soft_bounce(email, due + timedelta(hours=1))
        db.session.commit()
        if strike < 3:
            assert enrolled.status == "active" and enrolled.current_step_id == email.step_id
            assert enrolled.next_due_at >= due + timedelta(hours=25)
            assert enrolled.thread_message_id is None  # the first email never arrived: a fresh thread
    assert (enrolled.status, enrolled.stop_reason) == ("stopped", "bounced")
    assert len(_emails()) == 3


def test_a_reply_that_stops_the_enrollment_while_its_email_is_recorded_is_kept(
        enrolled, tokyo_contact, monkeypatch):
    """The batch hook reads enrollments, moves them on in Python, then writes them back: a
    stop that lands in between (a reply handled meanwhile) must not be overwritten, least of
    all back to 'active'."""
    due = enrolled.next_due_at
    run_due_steps(due)
    db.session.commit()
    [email] = _emails()
    real = hooks._load_states

    def a_reply_lands_meanwhile(ids):
        states = real(ids)
        services.stop_enrollments_for(tokyo_contact, "replied", None, due + timedelta(minutes=5))
        return states

    monkeypatch.setattr(hooks, "_load_states", a_reply_lands_meanwhile)
    _sent(email, due)
    db.session.expire_all()
    assert (enrolled.status, enrolled.stop_reason) == ("stopped", "replied")
    assert enrolled.next_due_at is None and enrolled.awaiting is None


def test_a_pause_landing_while_its_email_is_recorded_keeps_the_pause_and_still_moves_on(
        rep, enrolled, monkeypatch):
    """A pause (or resume) changes the status between the hook's read and write: the step was
    sent all the same, so the enrollment must move on and stay paused, not be left waiting for
    an email that will never be recorded again."""
    due = enrolled.next_due_at
    run_due_steps(due)
    db.session.commit()
    [email] = _emails()
    email.status = "sending"  # in flight: pausing cannot withdraw it any more
    db.session.commit()
    first_step = enrolled.current_step_id
    real = hooks._load_states

    def a_pause_lands_meanwhile(ids):
        states = real(ids)
        services.pause_enrollment(rep, enrolled.id, None, due + timedelta(minutes=5))
        return states

    monkeypatch.setattr(hooks, "_load_states", a_pause_lands_meanwhile)
    _sent(email, due)
    db.session.expire_all()
    assert enrolled.status == "paused"
    assert enrolled.current_step_id != first_step and enrolled.awaiting is None
    assert first_step in enrolled.completed_step_ids


def test_a_permanent_failure_stops_the_enrollment(enrolled):
    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    email = _emails()[0]
    email.status = "failed"
    hooks.on_email_failed(email, True, enrolled.updated_at)
    db.session.commit()
    assert (enrolled.status, enrolled.stop_reason) == ("stopped", "bounced")


def test_manual_email_step_makes_a_draft_and_a_task(rep, tokyo_contact, template):
    seq = library.create_sequence(rep, {"name": "Manual"}, NOW)
    library.add_step(rep, seq.id, {"kind": "manual_email", "template_id": template.id}, NOW)
    db.session.commit()
    enrollment = services.enroll_contact(rep, seq.id, tokyo_contact.id, NOW)
    db.session.commit()
    run_due_steps(enrollment.next_due_at)
    db.session.commit()
    [draft] = _emails()
    [task] = db.session.scalars(select(SequenceTask)).all()
    assert draft.status == "draft" and task.kind == "manual_email" and task.outbound_email_id == draft.id
    tasks.send_manual_email(rep, task.id, "Pumps, personally", "Hi Yuki, a personal note.", NOW + timedelta(days=1))
    db.session.commit()
    db.session.refresh(draft)
    assert (draft.status, draft.subject, draft.html_body) == ("queued", "Pumps, personally", None)
    _sent(draft, NOW + timedelta(days=1))
    assert enrollment.status == "finished"


def test_editing_an_active_sequence_does_not_resend_done_steps(rep, enrolled, sequence):
    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    _sent(_emails()[0], enrolled.updated_at)
    first_step = sequence.steps[0]
    # Move the sent first step to the end: it is not sent again, the follow-up stays next.
    library.move_step(rep, sequence.id, first_step.id, 3, NOW)
    db.session.commit()
    assert enrolled.current_step_id == sequence.steps[0].id != first_step.id
    assert services.live_enrollment_count(sequence.id) == 1


def _tick(app, at, barrier, results):
    with app.app_context():
        barrier.wait()
        try:
            results.append(run_due_steps(at, limit=1000))
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            db.session.rollback()
            results.append(exc)
        finally:
            db.session.remove()


def test_a_batch_of_sent_emails_moves_every_enrollment_on(rep, make_contact, sequence):
    """What the send tick hands the hook: many sent emails at once (one executemany per
    shape of write-back), not one."""
    contacts = [make_contact(owner_id=rep.id, actor=rep, time_zone="UTC") for _ in range(4)]
    report = services.enroll_contacts(rep, sequence.id, [c.id for c in contacts], NOW)
    db.session.commit()
    assert len(report.enrolled) == 4
    at = NOW + timedelta(days=1)
    assert run_due_steps(at) == {"auto_email": 4}
    db.session.commit()
    emails = _emails()
    for email in emails:
        email.status, email.sent_at = "sent", at
    db.session.flush()
    hooks.on_emails_sent(emails)
    db.session.commit()
    enrollments = db.session.scalars(select(Enrollment).order_by(Enrollment.id)).all()
    first_step = emails[0].step_id
    assert [e.awaiting for e in enrollments] == [None] * 4
    assert all(e.current_step_id != first_step and e.next_due_at > at for e in enrollments)
    assert all(first_step in e.completed_step_ids for e in enrollments)


def test_two_workers_ticking_at_once_enqueue_each_step_exactly_once(app, rep, make_contact, sequence):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL (SKIP LOCKED)")
    contacts = [make_contact(owner_id=rep.id, actor=rep, time_zone="UTC") for _ in range(150)]
    report = services.enroll_contacts(rep, sequence.id, [c.id for c in contacts], NOW)
    db.session.commit()
    assert len(report.enrolled) == 150
    at = NOW + timedelta(days=1)
    barrier, results = threading.Barrier(3), []
    workers = [threading.Thread(target=_tick, args=(app, at, barrier, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.get("auto_email", 0) for r in results) == 150
    db.session.expire_all()
    per_enrollment = db.session.execute(
        select(OutboundEmail.enrollment_id, func.count()).group_by(OutboundEmail.enrollment_id)).all()
    assert len(per_enrollment) == 150 and {n for _, n in per_enrollment} == {1}
    assert db.session.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.awaiting == "email")) == 150


def test_a_step_that_no_longer_renders_waits_and_says_why(app, enrolled, template):
    # A template broken behind the services' back (e.g. edited in the database).
    template.text_body = "Hi {{ contact.shoe_size }}"
    db.session.commit()
    due = enrolled.next_due_at
    assert run_due_steps(due) == {"error": 1}
    db.session.commit()
    assert _emails() == []
    assert "contact.shoe_size" in enrolled.last_error
    assert enrolled.next_due_at == due + timedelta(minutes=app.config["SEQUENCE_RETRY_MINUTES"])
    assert enrolled.status == "active"


def test_deleting_a_contact_cancels_its_queued_sequence_email(rep, enrolled, tokyo_contact):
    from crm.contacts.services import delete_contact

    run_due_steps(enrolled.next_due_at)
    db.session.commit()
    delete_contact(rep, tokyo_contact.id)
    db.session.commit()
    db.session.expire_all()
    [email] = _emails()
    assert email.status == "cancelled" and email.contact_id is None
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0
