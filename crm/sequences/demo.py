"""Demo data of the sequences feature: a shared template library, two sequences per rep and
enrollments in every state (finished, stopped on a reply, paused on an out-of-office, active
with an open call task, just enrolled), with the emails they sent and their statistics.

No email is ever due in the past: history is written as already sent, and every pending
email step is scheduled after both the demo's ``now`` and the real clock (the worker sends
them later through the configured transport, a file in development).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select

from crm.contacts.models import Contact
from crm.contacts.services import record_activity
from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.sequences import enrollments, library, runner
from crm.sequences.models import Enrollment, Sequence
from crm.timeutil import utcnow

TEMPLATES = [
    ("Intro: pumps for the plant", "Pumps for {{ company.name }}",
     "Hi {{ contact.first_name|default('there', true) }},\n\nI work with plant teams like yours on pump and valve "
     "replacements that cut unplanned downtime. Would a 20-minute call next week be useful?\n\n"
     "{{ meeting_link }}\n\n{{ sender.name }}\n{{ sender.signature }}",
     "<p>Hi {{ contact.first_name|default('there', true) }},</p><p>I work with plant teams like yours on pump and "
     "valve replacements that cut unplanned downtime. Would a 20-minute call next week be useful?</p>"
     "<p>{{ sender.name }}</p>"),
    ("Follow-up: case study", "Case study for {{ company.name }}",
     "Hi {{ contact.first_name|default('there', true) }},\n\nA quick follow-up: a plant similar to "
     "{{ company.name }} saved 14% on maintenance after switching. Happy to send the numbers.\n\n{{ sender.name }}",
     None),
    ("Break-up", "Should I close your file?",
     "Hi {{ contact.first_name|default('there', true) }},\n\nI haven't heard back, so I'll assume the timing "
     "isn't right. If that changes, just reply to this email.\n\n{{ sender.name }}", None),
]
# The team works in Spanish (a Mexican manufacturer): the same three emails for its Spanish-
# speaking reps, and the English ones above for the rep who sells in English.
TEMPLATES_ES = [
    ("Intro: bombas para la planta", "Bombas para {{ company.name }}",
     "Hola {{ contact.first_name|default('', true) }},\n\nTrabajo con equipos de planta como el suyo en el reemplazo "
     "de bombas y válvulas para reducir los paros no programados. ¿Le serviría una llamada de 20 minutos la "
     "próxima semana?\n\n{{ meeting_link }}\n\n{{ sender.name }}\n{{ sender.signature }}",
     "<p>Hola {{ contact.first_name|default('', true) }},</p><p>Trabajo con equipos de planta como el suyo en el "
     "reemplazo de bombas y válvulas para reducir los paros no programados. ¿Le serviría una llamada de 20 minutos "
     "la próxima semana?</p><p>{{ sender.name }}</p>"),
    ("Seguimiento: caso de éxito", "Caso de éxito para {{ company.name }}",
     "Hola {{ contact.first_name|default('', true) }},\n\nUn breve seguimiento: una planta similar a "
     "{{ company.name }} ahorró 14 % en mantenimiento después del cambio. Con gusto le comparto las cifras.\n\n"
     "{{ sender.name }}", None),
    ("Cierre", "¿Cierro su expediente?",
     "Hola {{ contact.first_name|default('', true) }},\n\nNo he tenido respuesta, así que entiendo que no es el "
     "momento. Si eso cambia, basta con responder a este correo.\n\n{{ sender.name }}", None),
]
STATES = ["finished", "finished", "replied", "replied", "paused", "task", "active", "fresh", "fresh", "bounced"]


def seed(actors, today, now) -> dict[str, int]:
    if db.session.scalar(select(Sequence.id).limit(1)) is not None:
        return {}  # running the demo again adds nothing
    manager = actors["manager"]
    library_by_language = {
        language: [library.create_template(manager, {"name": name, "subject": subject, "text_body": text,
                                                     "html_body": html}, now - timedelta(days=60))
                   for name, subject, text, html in texts]
        for language, texts in (("en", TEMPLATES), ("es", TEMPLATES_ES))}
    counts = {"sequence_templates": len(TEMPLATES) + len(TEMPLATES_ES), "sequences": 0, "enrollments": 0}
    future = max(now, utcnow()) + timedelta(days=1)
    # Demo history lies before the reference day's midnight (the core demo's rule).
    history_end = datetime.combine(today, time(0), tzinfo=timezone.utc)
    for key in ("europe", "east", "west"):
        rep = actors.get(key)
        if rep is None:
            continue
        language = "es" if getattr(rep, "language", "en") == "es" else "en"
        intro, fair = _sequences_for(rep, library_by_language[language], now, language)
        counts["sequences"] += 2
        contacts = _contactable(rep.id, len(STATES) + 4)
        for index, contact in enumerate(contacts[:len(STATES)]):
            _enroll(intro, contact, rep, STATES[index], index, history_end, future)
        for index, contact in enumerate(contacts[len(STATES):]):
            _enroll(fair, contact, rep, "fresh" if index % 2 else "task", index, history_end, future)
        counts["enrollments"] += len(contacts)
    db.session.flush()
    return counts


SEQUENCE_WORDS = {
    "en": {"intro": "Plant managers", "fair": "Trade fair follow-up", "shutdown": "Ask about the next shutdown window",
           "linkedin": "Connect on LinkedIn"},
    "es": {"intro": "Gerentes de planta", "fair": "Seguimiento de Expo", "shutdown": "Preguntar por el próximo paro "
           "de planta", "linkedin": "Conectar en LinkedIn"},
}


def _sequences_for(rep, templates, now, language: str = "en"):
    region, words = rep.name.split()[0], SEQUENCE_WORDS[language]
    intro = library.create_sequence(rep, {"name": f"{words['intro']} — {region}"}, now - timedelta(days=45))
    library.add_step(rep, intro.id, {"kind": "auto_email", "template_id": templates[0].id}, now)
    library.add_step(rep, intro.id, {"kind": "auto_email", "delay_days": 3, "template_id": templates[1].id}, now)
    library.add_step(rep, intro.id, {"kind": "call", "delay_days": 2,
                                     "task_note": words["shutdown"]}, now)
    library.add_step(rep, intro.id, {"kind": "auto_email", "delay_days": 4, "template_id": templates[2].id}, now)
    fair = library.create_sequence(rep, {"name": f"{words['fair']} — {region}", "window_start": "09:00",
                                         "window_end": "16:00"}, now - timedelta(days=20))
    library.add_step(rep, fair.id, {"kind": "manual_email", "template_id": templates[0].id}, now)
    library.add_step(rep, fair.id, {"kind": "social", "delay_days": 1, "task_note": words["linkedin"]}, now)
    library.add_step(rep, fair.id, {"kind": "auto_email", "delay_days": 3, "template_id": templates[1].id}, now)
    return intro, fair


def _contactable(user_id: int, limit: int) -> list[Contact]:
    return list(db.session.scalars(
        select(Contact).where(Contact.owner_id == user_id, Contact.do_not_contact.is_(False),
                              Contact.unsubscribed.is_(False), Contact.email_bounced_at.is_(None))
        .order_by(Contact.id).limit(limit)))


def _enroll(sequence, contact, rep, state: str, index: int, now: datetime, future: datetime) -> None:
    start = now - timedelta(days={"finished": 24, "replied": 9, "bounced": 8, "paused": 6, "task": 7,
                                  "active": 3}.get(state, 0), hours=index + 1)
    enrollment = enrollments.start_enrollment(sequence, contact, rep, rep, start)
    steps_to_walk = {"finished": 99, "replied": 1 + index % 2, "bounced": 1, "paused": 1, "task": 2, "active": 1}
    _walk(enrollment, steps_to_walk.get(state, 0), now, opened=index % 3 != 0)
    if state == "replied":
        _reply(enrollment, now - timedelta(days=1, hours=index))
    elif state == "bounced":
        bounced_at = min(now - timedelta(hours=1), enrollment.updated_at + timedelta(hours=1))  # after the send
        contact.email_bounced_at = bounced_at
        runner.end_enrollment(enrollment, "bounced", None, bounced_at)
    elif state == "paused":
        enrollments.pause_live_enrollment(enrollment, "out_of_office", now + timedelta(days=5),
                                          now - timedelta(days=2), None)
    _nothing_due_in_the_past(enrollment, now, future)


def _walk(enrollment: Enrollment, steps: int, now: datetime, *, opened: bool) -> None:
    """Replay ``steps`` steps as history: emails written as sent, tasks as done."""
    for _ in range(steps):
        step, due = enrollment.current_step, enrollment.next_due_at
        if enrollment.status != "active" or step is None or due is None or due > now - timedelta(hours=3):
            return
        if step.is_email:
            email = runner.enqueue_step_email(enrollment, step, due, status="queued")
            email.status, email.sent_at, email.attempts, email.due_at = "sent", due, 1, due
            if opened:
                email.first_human_open_at = due + timedelta(hours=3)
                if enrollment.id % 2 == 0:  # every other opener clicks too (template statistics show clicks)
                    email.first_human_click_at = due + timedelta(hours=3)  # not later: due is at most now - 3h
                    record_activity("email_clicked", email.first_human_click_at, contact_id=enrollment.contact_id,
                                    company_id=enrollment.contact.company_id, details={
                                        "outbound_email_id": email.id, "subject": email.subject, "verdict": "human",
                                        "url": "https://www.northwind-demo.com/case-studies", "title": "Case studies"})
            record_activity("email_sent", due, contact_id=enrollment.contact_id,
                            company_id=enrollment.contact.company_id, user_id=enrollment.user_id,
                            details={"outbound_email_id": email.id, "subject": email.subject, "kind": "sequence",
                                     "enrollment_id": enrollment.id, "step_id": step.id})
        else:
            task = runner.create_task(enrollment, step, step.kind if step.kind != "manual_email" else "manual_email",
                                      due, due)
            task.done_at, task.outcome = due + timedelta(hours=1), "connected" if step.kind == "call" else "done"
        runner.advance(enrollment, step.id, due + timedelta(hours=1))


def _reply(enrollment: Enrollment, at: datetime) -> None:
    last = db.session.scalar(select(OutboundEmail).where(OutboundEmail.enrollment_id == enrollment.id)
                             .order_by(OutboundEmail.id.desc()))
    if last is not None:
        last.replied_at = at
    record_activity("email_replied", at, contact_id=enrollment.contact_id, company_id=enrollment.contact.company_id,
                    details={"subject": f"Re: {enrollment.thread_subject or ''}", "enrollment_id": enrollment.id})
    runner.end_enrollment(enrollment, "replied", None, at)


def _nothing_due_in_the_past(enrollment: Enrollment, now: datetime, future: datetime) -> None:
    """A due task step becomes an open task (tasks email nobody); a due email step moves to
    the future."""
    if enrollment.status not in ("active", "paused") or enrollment.next_due_at is None:
        return
    step = enrollment.current_step
    if step is not None and not step.is_email and enrollment.next_due_at <= now and enrollment.status == "active":
        runner.create_task(enrollment, step, step.kind, enrollment.next_due_at, now)
        enrollment.awaiting, enrollment.next_due_at = "task", None
    elif enrollment.next_due_at < future:
        enrollment.next_due_at = runner.email_send_moment(enrollment, step, future) if step is not None \
            and step.is_email else future
