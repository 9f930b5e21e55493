"""Recordings fixtures: a storage directory per test, call activities of chosen reps, generated
calls as bytes in any format, and the API client of the API tests."""
from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from crm.contacts.timeline import record_activity
from crm.extensions import db
from crm.recordings import synthetic
from tests.conftest import NOW
from tests.crm.api.conftest import api  # noqa: F401  (the API client fixture)

# rep speaks 1-10, 12.5-20, 40-70 (30 s, the longest), 90-95; the prospect 10.3-12.2,
# 20.5-39.5, 70.4-89 (18.6 s), 96-118 (22 s, the longest): 7 switches in 2 minutes
TURNS = [("rep", 1, 10), ("prospect", 10.3, 12.2), ("rep", 12.5, 20), ("prospect", 20.5, 39.5),
         ("rep", 40, 70), ("prospect", 70.4, 89), ("rep", 90, 95), ("prospect", 96, 118)]
SECONDS = 120
# The uploads' call: 12 s, so a request body stays under the 500 KB werkzeug's test client
# keeps in memory (above, it spools to a temporary file it never closes: a ResourceWarning).
UPLOAD_TURNS = [("rep", 0.5, 4), ("prospect", 4.6, 9), ("rep", 9.6, 11.5)]
UPLOAD_SECONDS = 12


@pytest.fixture
def storage(app, tmp_path):
    """RECORDINGS_DIR and INSTANCE_DIR under the test's tmp_path (restored after)."""
    saved = {key: app.config.get(key) for key in ("RECORDINGS_DIR", "INSTANCE_DIR", "RECORDING_MAX_BYTES")}
    app.config["INSTANCE_DIR"] = tmp_path / "instance"
    app.config["RECORDINGS_DIR"] = tmp_path / "recordings"
    yield tmp_path / "recordings"
    app.config.update(saved)


@pytest.fixture
def stored_files(storage):
    """Every file in the storage directory (``.part`` files included), as names."""
    def names() -> list[str]:
        return sorted(p.name for p in storage.iterdir()) if storage.exists() else []

    return names


@pytest.fixture
def make_call(make_contact):
    def make(rep, minutes_ago: int = 60):
        contact = make_contact(owner_id=rep.id)
        call = record_activity("call", NOW - timedelta(minutes=minutes_ago), contact_id=contact.id, user_id=rep.id,
                               details={"outcome": "connected", "outcome_label": "Connected"})
        db.session.commit()
        return call

    return make


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def call_audio(audio_dir):
    """Bytes of the 12-second call ``UPLOAD_TURNS`` as ``.wav`` (8 kHz 16-bit), ``.flac``,
    ``.ogg``, ``.opus``, ``.mp3`` (generated with soundfile/libsndfile, cached for the session)."""
    cache: dict[str, bytes] = {}

    def make(extension: str = "wav", **options) -> bytes:
        key = extension + repr(sorted(options.items()))
        if key not in cache:
            rate = 16000 if extension == "opus" else 8000
            path: Path = synthetic.write_call(audio_dir / f"call-{len(cache)}.{extension}", UPLOAD_TURNS,
                                              UPLOAD_SECONDS, rate, **options)
            cache[key] = path.read_bytes()
        return cache[key]

    return make
