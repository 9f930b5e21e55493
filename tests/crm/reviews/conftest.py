"""Fixtures of the conversation-review tests: call activities with an analysed recording.

The recording rows are written as the recordings feature's worker leaves them once analysed
(status ``ready``, figures filled): these tests are about reviewing, not about analysis."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import soundfile
from werkzeug.datastructures import FileStorage

from crm.contacts.services import record_activity
from crm.extensions import db
from crm.recordings import services as recordings
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


def write_call_wav(path, seconds=10.0, rate=8000):
    """A two-channel 16-bit WAV: the rep (left) speaks the first half, the prospect the second
    (tones with a syllable-like envelope, enough for the analysis and the player)."""
    t = np.arange(int(seconds * rate)) / rate
    voice = 0.4 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    left = np.where(t < seconds / 2, voice, 0.0)
    right = np.where(t >= seconds / 2, voice, 0.0)
    soundfile.write(str(path), np.column_stack([left, right]), rate, subtype="PCM_16")
    return path


@pytest.fixture
def audio_storage(app, tmp_path):
    saved = {key: app.config.get(key) for key in ("RECORDINGS_DIR", "INSTANCE_DIR", "REVIEW_CLIPS_DIR")}
    app.config.update(INSTANCE_DIR=tmp_path / "instance", RECORDINGS_DIR=tmp_path / "recordings",
                      REVIEW_CLIPS_DIR=tmp_path / "clips")
    yield tmp_path
    app.config.update(saved)


@pytest.fixture
def stored_recording(app, audio_storage, make_contact):
    """A real WAV uploaded through the recordings services and analysed by their CLI (the
    worker's code path): what a phone system's upload leaves."""
    def make(rep, seconds=10.0):
        contact = make_contact(owner_id=rep.id)
        call = record_activity("call", NOW - timedelta(hours=2), contact_id=contact.id, user_id=rep.id,
                               details={"outcome": "connected", "outcome_label": "Connected"})
        db.session.commit()
        path = write_call_wav(audio_storage / f"call-{call.id}.wav", seconds)
        with open(path, "rb") as handle:
            upload = FileStorage(stream=handle, filename="call.wav", content_type="audio/wav")
            recording = recordings.upload_recording(rep, call.id, upload, now=NOW - timedelta(hours=2))
            db.session.commit()
        result = app.test_cli_runner().invoke(args=["crm", "recordings", "analyse-pending"])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        found = db.session.get(Recording, recording.id)
        assert found.status == "ready", (found.status, found.error)
        return found

    return make
