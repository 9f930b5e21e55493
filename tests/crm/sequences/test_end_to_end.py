"""Through the real mail outbox and a real SMTP server: the first email arrives, the
enrollment moves on when SMTP accepted it, the follow-up arrives threaded under it, and an
unsubscribe or reply stops what is left."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.mail.outbound.sender import send_due
from crm.sequences import services
from crm.sequences.models import SequenceTask
from crm.sequences.services import run_due_steps
from tests.conftest import NOW


def test_two_emails_arrive_threaded_then_the_call_task_opens(smtp_sink, rep, tokyo_contact, sequence):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    first_due = enrollment.next_due_at
    run_due_steps(first_due)
    db.session.commit()
    send_due(first_due)
    [first] = smtp_sink.wait_for(1)
    assert first.rcpt_tos == ["yuki@nippon-pumps.jp"]
    assert first.message["Subject"] == "Pumps for Nippon Pumps"
    db.session.expire_all()
    assert enrollment.steps_done == 1 and enrollment.awaiting is None  # moved on when SMTP accepted it

    second_due = enrollment.next_due_at
    run_due_steps(second_due)
    db.session.commit()
    send_due(second_due)
    second = smtp_sink.wait_for(2)[1]
    assert second.message["Subject"] == "Re: Pumps for Nippon Pumps"
    assert second.message["In-Reply-To"] == first.message["Message-ID"]
    assert first.message["Message-ID"] in second.message["References"]

    db.session.expire_all()
    run_due_steps(enrollment.next_due_at)
    db.session.commit()
    assert db.session.scalar(select(SequenceTask.kind)) == "call"
    sent = db.session.scalars(select(OutboundEmail.status)).all()
    assert sent == ["sent", "sent"]


def test_a_reply_before_the_follow_up_stops_it(smtp_sink, rep, tokyo_contact, sequence):
    enrollment = services.enroll_contact(rep, sequence.id, tokyo_contact.id, NOW)
    db.session.commit()
    run_due_steps(enrollment.next_due_at)
    db.session.commit()
    send_due(enrollment.updated_at + timedelta(days=1))
    smtp_sink.wait_for(1)
    db.session.expire_all()
    follow_up_due = enrollment.next_due_at
    services.stop_enrollments_for(tokyo_contact, "replied", None, follow_up_due - timedelta(hours=1))
    db.session.commit()
    assert run_due_steps(follow_up_due + timedelta(days=5)) == {}
    send_due(follow_up_due + timedelta(days=5))
    assert len(smtp_sink.messages) == 1
