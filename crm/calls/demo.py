"""Demo data of the calls feature: Monday-Friday 09:00-10:30 prospecting blocks for each rep
(in the rep's own zone), two team scripts, a week of logged calls inside and outside the
blocks, a promised callback, and today's queue. Deterministic; never contacts anyone."""
from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy import select

from crm.calls.blocks import create_block, day_bounds
from crm.calls.models import OUTCOME_LABELS, CallTask
from crm.calls.queue import build_queue
from crm.calls.scripts import save_script
from crm.contacts.models import Contact
from crm.contacts.services import record_activity
from crm.extensions import db

REP_KEYS = ("europe", "east", "west")
OUTCOME_MIX = (["no_answer"] * 5 + ["voicemail"] * 3 + ["connected"] * 2
               + ["not_interested", "meeting_booked", "callback"])
NOTES = {
    "connected": "Talked about current pump maintenance costs; sending a comparison.",
    "not_interested": "Locked into a 3-year supplier contract.",
    "meeting_booked": "Booked a 30-minute intro with their plant manager.",
    "callback": "In a meeting; asked to call back tomorrow morning.",
    "voicemail": "Left a short voicemail mentioning the valve retrofit case study.",
}
SCRIPTS = [
    {"name": "Apertura de llamada en frío", "body": "Hola {name}, le habla {me} de Bombas y Válvulas del Norte. "
     "Le llamo porque plantas como la suya reducen un tercio los paros de bombas con monitoreo de condición. "
     "¿Tiene dos minutos?\n\nPregunte: ¿cómo planean hoy el mantenimiento? ¿Quién decide las refacciones?\n"
     "Cierre: ¿una llamada de 20 minutos con un ingeniero la próxima semana?",
     "objections": [{"objection": "Ya tenemos proveedor",
                     "answer": "La mayoría de nuestros clientes también; ¿qué le cambiaría al suyo?"},
                    {"objection": "Mándeme un correo",
                     "answer": "Con gusto; para que le sirva, ¿qué problema querría resolver primero?"},
                    {"objection": "No hay presupuesto",
                     "answer": "Entiendo; ¿cuándo se define el presupuesto de mantenimiento del próximo año?"}]},
    {"name": "Seguimiento tras ver precios", "body": "Hola {name}, vi que estuvo revisando nuestros precios. "
     "¿Tiene alguna duda, o le preparo una cotización para sus volúmenes?",
     "objections": [{"objection": "Solo estoy viendo", "answer": "Claro; ¿qué le hizo buscar ahora?"},
                    {"objection": "Está muy caro",
                     "answer": "¿Comparado con qué? Veamos el costo total a cinco años."}]},
    {"name": "Cold call opener", "body": "Hi {name}, this is {me} from Bombas y Válvulas del Norte. "
     "I'm calling because plants like yours cut pump downtime by a third with condition monitoring. "
     "Do you have two minutes?\n\n"
     "Ask: how do you plan maintenance today? Who decides on spare parts?\n"
     "Close: a 20-minute call with an engineer next week?",
     "objections": [{"objection": "We already have a supplier",
                     "answer": "Most of our customers did too; what would you change about them?"},
                    {"objection": "Send me an email",
                     "answer": "Happy to; so it's relevant, what's the one problem you'd want solved?"},
                    {"objection": "No budget",
                     "answer": "Understood; when does next year's maintenance budget get set?"}]},
    {"name": "Follow-up after pricing page", "body": "Hi {name}, I saw you were looking at our pricing. Any questions "
     "I can answer, or should I put together a quote for your volumes?",
     "objections": [{"objection": "Just browsing", "answer": "Fair; what made you look now?"},
                    {"objection": "Too expensive",
                     "answer": "Compared with what? Let's look at total cost over five years."}]},
]


def _week_days(today: date) -> list[date]:
    return [today - timedelta(days=n) for n in range(1, 8) if (today - timedelta(days=n)).weekday() < 5]


def seed(actors, today, now) -> dict[str, int]:
    rng = random.Random(4)
    counts = {"call_blocks": 0, "call_scripts": 0, "calls_logged": 0}
    for spec in SCRIPTS:
        save_script(actors["manager"], spec, now)
        counts["call_scripts"] += 1
    for key in REP_KEYS:
        rep = actors[key]
        title = "Prospección" if getattr(rep, "language", "en") == "es" else "Prospecting"
        create_block(rep, {"kind": "recurring", "title": title, "weekdays": [0, 1, 2, 3, 4],
                           "start_time": time(9), "end_time": time(10, 30),
                           "valid_from": today - timedelta(days=60)}, now)
        counts["call_blocks"] += 1
        contacts = list(db.session.scalars(
            select(Contact).where(Contact.owner_id == rep.id, Contact.phone.is_not(None))
            .order_by(Contact.id).limit(60)))
        if not contacts:
            continue
        for day in _week_days(today):
            start, _ = day_bounds(day, rep.time_zone or "UTC")
            for n in range(rng.randint(5, 9)):
                # most calls inside the 09:00-10:30 block, a few in the afternoon
                minutes = 9 * 60 + rng.randint(0, 85) if n < 6 else 14 * 60 + rng.randint(0, 120)
                at = start + timedelta(minutes=minutes)
                contact = rng.choice(contacts)
                outcome = rng.choice(OUTCOME_MIX)
                activity = record_activity("call", at, contact_id=contact.id, company_id=contact.company_id,
                                           user_id=rep.id, details={
                                               "outcome": outcome, "outcome_label": OUTCOME_LABELS[outcome],
                                               "notes": NOTES.get(outcome, ""),
                                               "duration_seconds": rng.randint(15, 600)})
                counts["calls_logged"] += 1
                if outcome == "callback" and day == _week_days(today)[0]:
                    db.session.add(CallTask(user_id=rep.id, contact_id=contact.id, kind="callback",
                                            title="Asked to be called back", activity_id=activity.id,
                                            due_at=day_bounds(today, rep.time_zone or "UTC")[0] + timedelta(hours=11),
                                            created_at=at))
        db.session.flush()
        build_queue(rep, now)
    return counts
