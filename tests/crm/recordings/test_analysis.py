"""The analysis on generated calls whose truth is known: talk ratio, longest monologues,
switches within 2%; bleed between channels, the rep on the right, mono; streaming in blocks."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile

from crm.recordings import analysis, synthetic
from tests.crm.recordings.conftest import SECONDS, TURNS


def truth(turns, duration):
    rep = [(a, b) for side, a, b in turns if side == "rep"]
    prospect = [(a, b) for side, a, b in turns if side == "prospect"]
    rep_s, prospect_s = analysis.total(rep), analysis.total(prospect)
    return {
        "talk_ratio_rep": rep_s / (rep_s + prospect_s),
        "longest_monologue_rep_seconds": max(b - a for a, b in rep),
        "longest_monologue_prospect_seconds": max(b - a for a, b in prospect),
        "switches_per_minute": (len(turns) - 1) / (duration / 60),
        "silence_share": 1 - analysis.covered_seconds(rep, prospect) / duration,
    }


def assert_close(result, expected, tolerance):
    for name, value in expected.items():
        found = getattr(result, name)
        assert found == pytest.approx(value, rel=tolerance), (name, found, value)


@pytest.mark.parametrize("extension", ["wav", "flac", "ogg", "opus", "mp3"])
def test_two_channel_call_matches_the_truth_within_two_percent(tmp_path, extension):
    path = synthetic.write_call(tmp_path / f"call.{extension}", TURNS, SECONDS, 16000 if extension == "opus" else 8000)
    result = analysis.analyse(path, "rep-left")
    assert result.channel_count == 2
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.1)
    assert_close(result, truth(TURNS, SECONDS), 0.02)
    expected = truth(TURNS, SECONDS)
    assert result.longest_monologue_rep_seconds == pytest.approx(30, rel=0.02)
    assert expected["switches_per_minute"] == 3.5


def test_the_rep_on_the_right_channel_swaps_the_sides(tmp_path):
    path = synthetic.write_call(tmp_path / "right.wav", TURNS, SECONDS, rep_channel=1)
    right = analysis.analyse(path, "rep-right")
    wrong = analysis.analyse(path, "rep-left")
    assert right.talk_ratio_rep == pytest.approx(truth(TURNS, SECONDS)["talk_ratio_rep"], rel=0.02)
    assert wrong.talk_ratio_rep == pytest.approx(1 - right.talk_ratio_rep, abs=0.001)


@pytest.mark.parametrize("bleed", [0.0, 0.1, 0.2])
def test_bleed_of_the_other_side_is_not_counted_as_speech(tmp_path, bleed):
    """A copy of each side in the other channel at -20 dB (0.1) or -14 dB (0.2) changes nothing."""
    path = synthetic.write_call(tmp_path / "bleed.wav", TURNS, SECONDS, bleed=bleed)
    assert_close(analysis.analyse(path, "rep-left"), truth(TURNS, SECONDS), 0.02)


def test_quiet_prospect_line_with_loud_noise_floor(tmp_path):
    """Levels differ by line: each channel gets its own threshold."""
    path = tmp_path / "quiet.wav"
    samples = synthetic.render(TURNS, 0, SECONDS, 8000, noise=0.004)
    samples[:, 1] *= 0.15  # the prospect's line 16 dB quieter
    soundfile.write(path, samples, 8000, subtype="PCM_16")
    assert_close(analysis.analyse(path, "rep-left"), truth(TURNS, SECONDS), 0.02)


def test_a_long_conversation_streams_in_blocks(tmp_path, monkeypatch):
    """Several decode blocks (shrunk to 7 s here) give the same figures as one."""
    turns = synthetic.alternating_turns(300, seed=5)
    path = synthetic.write_call(tmp_path / "long.wav", turns, 300, block_seconds=23)
    whole = analysis.analyse(path, "rep-left")
    monkeypatch.setattr(analysis, "BLOCK_SECONDS", 7)
    seen = []
    blocked = analysis.analyse(path, "rep-left", progress=seen.append)
    assert len(seen) >= 40 and seen[-1] == 1.0 and seen == sorted(seen)
    assert blocked.segments == whole.segments
    assert_close(blocked, truth(turns, 300), 0.02)


def test_prospect_story_survives_short_interjections(tmp_path):
    turns = [("rep", 1, 8), ("prospect", 9, 20), ("rep", 20.7, 21.5), ("prospect", 22.2, 40), ("rep", 41, 50)]
    path = synthetic.write_call(tmp_path / "story.wav", turns, 55)
    result = analysis.analyse(path, "rep-left")
    assert result.longest_monologue_prospect_seconds == pytest.approx(40 - 22.2, rel=0.02)
    assert result.prospect_longest_story_seconds == pytest.approx(40 - 9, rel=0.02)
    assert result.switches_per_minute == pytest.approx(4 / (55 / 60), rel=0.02)


def test_mono_gives_duration_waveform_and_speech_share(tmp_path):
    path = synthetic.write_call(tmp_path / "mono.flac", TURNS, SECONDS, mono=True)
    result = analysis.analyse(path, "rep-left")  # a one-channel file is mono whatever the layout
    assert result.channel_count == 1 and result.talk_ratio_rep is None
    spoken = analysis.covered_seconds([(a, b) for _s, a, b in TURNS])
    assert result.speech_share == pytest.approx(spoken / SECONDS, rel=0.02)
    assert result.silence_share == pytest.approx(1 - result.speech_share)
    assert len(result.waveform) == analysis.WAVEFORM_POINTS and max(result.waveform) == 1.0


def test_waveform_follows_the_loudness(tmp_path):
    path = tmp_path / "steps.wav"
    quiet_then_loud = np.concatenate([np.full(8000 * 10, 0.05), np.full(8000 * 10, 0.5)]).astype(np.float32)
    soundfile.write(path, np.sin(np.arange(len(quiet_then_loud)) / 3) * quiet_then_loud, 8000)
    peaks = analysis.analyse(path, "mono").waveform
    assert max(peaks[:490]) == pytest.approx(0.1, abs=0.01) and min(peaks[510:]) == pytest.approx(1.0, abs=0.01)


def test_silence_only_and_empty_audio(tmp_path):
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros((8000 * 5, 2), dtype=np.float32), 8000)
    result = analysis.analyse(silent, "rep-left")
    assert result.talk_ratio_rep is None and result.silence_share == 1.0 and result.segments == {
        "rep": [], "prospect": []}
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros((0, 2), dtype=np.float32), 8000)
    with pytest.raises(analysis.UnreadableAudio):
        analysis.analyse(empty, "rep-left")
