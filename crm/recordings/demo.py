"""Demo data of the recordings feature: a generated stereo recording (rep left, prospect right,
8 kHz as phone systems record, under a minute) on the latest connected calls of two reps,
uploaded and analysed at once so the recording and review pages have something to show
without a worker. Deterministic; a few hundred KB on disk."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

from sqlalchemy import select

from crm.contacts.models import Activity
from crm.extensions import db
from crm.recordings import analysis, services, storage, synthetic

REP_KEYS = ("europe", "east")
SECONDS = 50
CONNECTED = ("connected", "meeting_booked", "callback", "not_interested")


class _Upload:
    """What ``upload_recording`` reads of a werkzeug ``FileStorage``."""

    def __init__(self, data: bytes, filename: str):
        self.stream, self.filename, self.mimetype = io.BytesIO(data), filename, "audio/wav"


def seed(actors, today, now) -> dict[str, int]:
    created = 0
    for number, key in enumerate(REP_KEYS):
        rep = actors.get(key)
        call = _latest_connected_call(rep.id) if rep else None
        if call is None or services.recording_for_call(rep, call.id) is not None:
            continue
        recording = services.upload_recording(rep, call.id, _Upload(_call_audio(number), f"call-{call.id}.wav"),
                                              now=now, channels="rep-left")
        # analysed here, from the not yet renamed file, so the demo needs no worker
        result = analysis.analyse(storage.part_path(recording.storage_key), recording.channels)
        services.save_analysis(recording, result, now)
        created += 1
    return {"recordings": created}


def _latest_connected_call(user_id: int) -> Activity | None:
    calls = db.session.scalars(select(Activity).where(Activity.user_id == user_id, Activity.kind == "call")
                               .order_by(Activity.occurred_at.desc()).limit(50))
    return next((c for c in calls if (c.details or {}).get("outcome") in CONNECTED), None)


def _call_audio(number: int) -> bytes:
    # the first rep talks too much (a long pitch), the second listens
    rep_share = (6, 22) if number == 0 else (3, 8)
    turns = synthetic.alternating_turns(SECONDS, rep_seconds=rep_share, prospect_seconds=(3, 14), seed=number)
    with tempfile.TemporaryDirectory() as folder:
        path = synthetic.write_call(Path(folder) / "call.wav", turns, SECONDS, 8000)
        return path.read_bytes()
