"""A library clip's audio: only the clip's span, playable by every sales user (even a rep who may
not hear the call), with range requests; planners get nothing."""
from __future__ import annotations

import io

import soundfile

from crm.reviews import services


def test_a_rep_plays_a_clip_of_a_colleagues_call_but_not_the_call(client, app, login, mallory, alice, bob, pat,
                                                                   stored_recording, now):
    recording = stored_recording(alice, seconds=10.0)
    assert recording.duration_seconds == 10.0
    folder = services.create_folder(mallory, {"name": "Openers"}, now=now)
    clip = services.add_clip(mallory, recording.id, {"folder_id": folder.id, "start_seconds": 2, "end_seconds": 5},
                             now=now)
    services.db.session.commit()
    login(client, bob)
    audio = client.get(f"/library/clips/{clip.id}/audio")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    data, rate = soundfile.read(io.BytesIO(audio.get_data()))
    audio.close()
    assert rate == 8000 and data.shape == (3 * 8000, 2)  # the span, both channels
    ranged = client.get(f"/library/clips/{clip.id}/audio", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.get_data()) == 100
    ranged.close()
    assert client.get(f"/recordings/{recording.id}/audio").status_code == 404  # the whole call: not bob's
    assert client.get(f"/recordings/{recording.id}").status_code == 404
    planner = app.test_client()
    login(planner, pat)
    assert planner.get(f"/library/clips/{clip.id}/audio").status_code == 403


def test_player_plays_the_stored_audio(client, login, mallory, alice, stored_recording):
    recording = stored_recording(alice)
    login(client, mallory)
    html = client.get(f"/recordings/{recording.id}").get_data(as_text=True)
    assert f'src="/recordings/{recording.id}/audio"' in html
    ranged = client.get(f"/recordings/{recording.id}/audio", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.get_data()) == 10
    ranged.close()
