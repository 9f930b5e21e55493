"""Fixtures of the conversation-review tests: call activities with an analysed recording.

The recording rows are written as the recordings feature's worker leaves them once analysed
(status ``ready``, figures filled): these tests are about reviewing, not about analysis."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.contacts.services import record_activity
from crm.extensions import db
from crm.recordings.models import Recording
from tests.conftest import NOW


@pytest.fixture
def make_recording(make_contact):
    contact_holder = {}

    def make(rep, *, duration=120.0, talk=0.5, monologue=30.0, outcome="connected", days_ago=1,
             status="ready", channels="rep-left", segments=None):
        if "contact" not in contact_holder:
            contact_holder["contact"] = make_contact()
        contact = contact_holder["contact"]
        at = NOW - timedelta(days=days_ago)
        activity = record_activity("call", at, contact_id=contact.id, user_id=rep.id,
                                   details={"outcome": outcome, "outcome_label": outcome.replace("_", " ")})
        recording = Recording(
            activity_id=activity.id, user_id=rep.id, uploaded_by_id=rep.id, source="upload", status=status,
            channels=channels, created_at=at, progress=100 if status == "ready" else 0,
            duration_seconds=duration if status == "ready" else None,
            talk_ratio_rep=talk if status == "ready" else None,
            longest_monologue_rep_seconds=monologue if status == "ready" else None,
            longest_monologue_prospect_seconds=10.0 if status == "ready" else None,
            switches_per_minute=4.0 if status == "ready" else None, silence_share=0.1 if status == "ready" else None,
            waveform=[0.1, 0.5, 0.9, 0.4] * 25 if status == "ready" else None,
            segments=segments or {"rep": [[0, 10]], "prospect": [[10, 20]]})
        db.session.add(recording)
        db.session.commit()
        return recording

    return make


SEGMENTS_JSON = """[
  {"start": 1.0, "end": 4.0, "speaker": "rep", "text": "Buenas tardes, ¿tiene un budget para esto?"},
  {"start": 5.0, "end": 9.0, "speaker": "prospect", "text": "¿Cuál es el PRECIO? Ahora usamos Salesforce."},
  {"start": 10.0, "end": 14.0, "speaker": "rep", "text": "El precio depende; es un precio justo."},
  {"start": 15.0, "end": 18.0, "speaker": "prospect", "text": "Es una propuesta preciosa."}
]"""
