"""Keyword trackers: accent- and case-insensitive, whole words, phrases, said by a side; hits
recounted when a tracker or a transcript changes."""
from __future__ import annotations

import pytest

from crm.errors import PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.reviews import services
from crm.reviews.matching import matches
from crm.reviews.models import TrackerHit
from crm.reviews.transcripts import fold
from tests.crm.reviews.conftest import SEGMENTS_JSON


def count(phrases, text):
    return sum(m.count for m in matches(phrases, fold(text)))


@pytest.mark.parametrize(("phrases", "text", "expected"), [
    (["precio"], "¿Cuál es el PRECIO?", 1),
    (["precio"], "el precío es alto", 1),          # accent typed by the transcriber
    (["Precío"], "el precio es alto", 1),          # accent typed by the manager
    (["precio"], "una propuesta preciosa", 0),     # word boundary: not inside a longer word
    (["precio"], "sobreprecio", 0),
    (["precio"], "precio, precio y PRECIO.", 3),
    (["too expensive"], "that is   too\nexpensive for us", 1),
    (["too expensive"], "tooexpensive", 0),
    (["budget"], "Budget's approved", 1),
    (["HubSpot"], "usamos hubspot-crm", 1),
    (["cuánto cuesta"], "¿Cuanto cuesta?", 1),
    (["c++"], "we use C++ daily", 1),
])
def test_matching_rules(phrases, text, expected):
    assert count(phrases, text) == expected


def hits_by_name(actor, recording):
    return {item.tracker.name: item.count for item in services.tracker_hits(actor, recording.id)}


def test_trackers_count_per_call_and_side(mallory, alice, make_recording, now):
    recording = make_recording(alice)
    services.create_tracker(mallory, {"name": "Price", "phrases": ["precio"], "said_by": "either"}, now=now)
    services.create_tracker(mallory, {"name": "Price (prospect)", "phrases": ["precio"], "said_by": "prospect"},
                            now=now)
    services.create_tracker(mallory, {"name": "Competitors", "phrases": ["salesforce", "hubspot"]}, now=now)
    services.save_transcript(alice, recording.id, SEGMENTS_JSON, now=now, fmt="json")
    db.session.commit()
    assert hits_by_name(mallory, recording) == {"Price": 3, "Price (prospect)": 1, "Competitors": 1}
    marks = {item.tracker.name: [h.at_seconds for h in item.marks]
             for item in services.tracker_hits(alice, recording.id)}
    assert marks["Price"] == [5.0, 10.0]  # one mark per line, at the line's start (count 1 and 2)


def test_tracker_change_and_transcript_change_recount(mallory, alice, make_recording, now):
    recording = make_recording(alice)
    services.save_transcript(alice, recording.id, SEGMENTS_JSON, now=now, fmt="json")
    tracker = services.create_tracker(mallory, {"name": "Budget", "phrases": ["budget"]}, now=now)
    assert hits_by_name(mallory, recording) == {"Budget": 1}  # counted on the existing transcript
    services.update_tracker(mallory, tracker.id, {"name": "Budget", "phrases": ["budget", "precio"]}, now=now)
    assert hits_by_name(mallory, recording) == {"Budget": 4}
    services.save_transcript(alice, recording.id, '[{"start": 1, "end": 2, "text": "sin presupuesto"}]',
                             now=now, fmt="json")
    assert hits_by_name(mallory, recording) == {}
    services.delete_tracker(mallory, tracker.id)
    assert services.list_trackers(mallory) == []


def test_trackers_are_defined_by_managers_only(alice, pat, mallory, now):
    with pytest.raises(PermissionDenied):
        services.create_tracker(alice, {"name": "X", "phrases": ["x"]}, now=now)
    with pytest.raises(PermissionDenied):
        services.list_trackers(pat)
    with pytest.raises(ValidationFailed) as caught:
        services.create_tracker(mallory, {"name": "", "phrases": [], "said_by": "nobody"}, now=now)
    assert set(caught.value.fields) == {"name", "phrases", "said_by"}
    services.create_tracker(mallory, {"name": "Price", "phrases": "precio\ncost, price"}, now=now)
    with pytest.raises(ValidationFailed) as caught:
        services.create_tracker(mallory, {"name": "price", "phrases": ["x"]}, now=now)
    assert "name" in caught.value.fields
    assert services.list_trackers(alice)[0].phrases == ["precio", "cost", "price"]


def test_cli_recounts_every_tracker(app, mallory, alice, make_recording, now):
    recording = make_recording(alice)
    services.save_transcript(alice, recording.id, SEGMENTS_JSON, now=now, fmt="json")
    services.create_tracker(mallory, {"name": "Price", "phrases": ["precio"]}, now=now)
    db.session.execute(TrackerHit.__table__.delete())  # hits lost (a bulk import, an upgrade)
    db.session.commit()
    assert hits_by_name(mallory, recording) == {}
    result = app.test_cli_runner().invoke(args=["crm", "reviews", "recount-trackers"])
    assert result.exit_code == 0 and result.output.strip() == "1 tracker, 2 hits"
    db.session.expire_all()
    assert hits_by_name(mallory, recording) == {"Price": 3}
