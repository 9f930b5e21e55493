"""Recordings: the audio of call activities, stored, served and analysed.

Owns: ``Recording`` (one per call activity: the file under ``RECORDINGS_DIR``, its status and
what the analysis found), the upload checks (``storage.py``: size, content decoded, temp file
renamed after commit), streaming analysis (``analysis.py``: waveform, voice activity per
channel, talk ratio, monologues, switches), the worker's claim of pending recordings
(``worker.py``) and HTTP range serving of the audio.

Offers (``crm.recordings.services``): ``recording_for`` / ``can_listen`` / ``visible_recordings``
(who may listen: the rep who made the call, their manager, admins; planners none),
``recording_for_call``, ``upload_recording``, ``attach_recording_url``, ``analyse_pending``.

Called by: its pages, API, CLI, worker job and demo; calls (the contact's Calls panel badge, the
old ``/calls/<id>/recording`` routes); reviews (the player, comments, scorecards build on it).
"""
