"""Demo data of conversation review: the trackers a Mexican sales team watches ("precio",
"budget", a competitor), a discovery-call rubric, a library folder; and on the first analysed
recording the recordings demo left (it runs before this one), a transcript, comments, a
scorecard, a clip in the library and the feedback shared with the rep."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from crm.extensions import db
from crm.recordings.models import Recording
from crm.reviews import services

TRACKERS = (
    {"name": "Price", "phrases": ["precio", "price", "cuánto cuesta", "cost"], "said_by": "prospect"},
    {"name": "Budget", "phrases": ["budget", "presupuesto"], "said_by": "either"},
    {"name": "Competitors", "phrases": ["Salesforce", "HubSpot", "Pipedrive"], "said_by": "either"},
)
RUBRIC = {"name": "Discovery call", "scoring": "weighted",
          "description": "Did the rep learn the prospect's situation before pitching?",
          "criteria": [{"name": "Opening and agenda", "weight": 1},
                       {"name": "Discovery questions", "weight": 2},
                       {"name": "Handling the price objection", "weight": 2},
                       {"name": "Clear next step", "weight": 1}]}


def transcript_for(duration: float) -> list[dict]:
    """A short Spanish discovery call spread over the recording's length."""
    lines = [
        ("rep", "Buenas tardes, le habla Ana de Acme. ¿Tiene cinco minutos?"),
        ("prospect", "Sí, dígame. Ahora usamos HubSpot para los prospectos."),
        ("rep", "¿Qué es lo que más les cuesta hoy con su proceso de ventas?"),
        ("prospect", "El seguimiento. Y el precio, la verdad: ¿cuánto cuesta su plan?"),
        ("rep", "Depende del equipo. ¿Tienen un presupuesto aprobado para este año?"),
        ("prospect", "Tenemos budget en el segundo trimestre."),
        ("rep", "Perfecto, le propongo una demo el jueves con su director comercial."),
    ]
    step = max(duration, 14.0) / (len(lines) + 1)
    return [{"start": round(i * step + 0.5, 2), "end": round((i + 1) * step, 2), "speaker": who, "text": text}
            for i, (who, text) in enumerate(lines)]


def seed(actors, today, now) -> dict[str, int]:
    manager = actors["manager"]
    counts = {"review_trackers": 0, "review_rubrics": 1, "library_folders": 1}
    for spec in TRACKERS:
        services.create_tracker(manager, spec, now=now)
        counts["review_trackers"] += 1
    rubric = services.create_rubric(manager, RUBRIC, now=now)
    folder = services.create_folder(manager, {"name": "Objection handling",
                                              "description": "How our best reps answer “es muy caro”."}, now=now)
    recording = db.session.scalar(
        select(Recording).where(Recording.status == "ready", Recording.user_id.is_not(None),
                                Recording.duration_seconds.is_not(None)).order_by(Recording.id).limit(1))
    if recording is None or recording.user is None or recording.user.manager_id != manager.id:
        return counts
    duration = recording.duration_seconds or 0.0
    segments = transcript_for(duration)
    services.save_transcript(manager, recording.id, _json(segments), now=now - timedelta(hours=3), fmt="json")
    price_at = segments[3]["start"]
    services.add_comment(manager, recording.id, {"at_seconds": segments[2]["start"],
                                                 "body": "Great open question: you let them talk."},
                         now=now - timedelta(hours=2))
    services.add_comment(manager, recording.id, {"at_seconds": price_at,
                                                 "body": "Price came up: ask what they compare it with before "
                                                         "giving a number."}, now=now - timedelta(hours=2))
    ratings = [{"criterion_id": c.id, "rating": r, "note": ""} for c, r in zip(rubric.criteria, (4, 5, 3, 4))]
    services.save_scorecard(manager, recording.id, {"rubric_id": rubric.id, "ratings": ratings},
                            now=now - timedelta(hours=2))
    services.add_clip(manager, recording.id, {"folder_id": folder.id, "start_seconds": price_at,
                                              "end_seconds": min(duration, price_at + 20),
                                              "note": "The prospect asks the price; the rep answers with a question."},
                      now=now - timedelta(hours=1))
    services.share_feedback(manager, recording.id, {"feedback": "Good discovery. Next time, hold the price "
                                                                "until you know their volumes."},
                            now=now - timedelta(hours=1))
    counts.update(review_comments=2, review_scorecards=1, library_clips=1, reviews_shared=1)
    return counts


def _json(segments: list[dict]) -> str:
    return json.dumps(segments, ensure_ascii=False)
