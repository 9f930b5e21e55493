"""Transcript parsing: the three formats as real tools export them, and malformed files whose
every broken line is reported (tests/fixtures/transcripts/README.md says where each shape is from)."""
from __future__ import annotations

from pathlib import Path

import pytest

from crm.errors import ValidationFailed
from crm.reviews.transcripts import TranscriptError, detect_format, fold, parse_transcript, speaker_role, speaker_roles

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_w3c_example_skips_style_and_note_blocks_reads_voices_settings_and_entities():
    segments = parse_transcript(load("w3c_voices.vtt"), filename="w3c_voices.vtt")
    assert len(segments) == 10
    assert (segments[0].start, segments[0].end, segments[0].label) == (11.0, 13.0, "Roger Bingham")
    assert segments[0].text == "We are in New York City"
    # cue settings after the end time; mm:ss.ttt timestamps
    assert (segments[8].start, segments[8].end, segments[8].text) == (30.0, 31.5, "and you hear that")
    last = segments[-1]
    assert last.label == "Neil deGrasse Tyson"
    assert last.text == "I am a little bit of a <hypocrite> & a tourist"  # entities decoded, <i> dropped
    assert not any("cue" in s.text or "NOTE" in s.text for s in segments)


def test_zoom_export_speaker_prefix_and_identifiers():
    segments = parse_transcript(load("zoom_spanish.vtt"))
    assert [s.label for s in segments] == ["Ana García", "Carlos Pérez", "Ana García", "Carlos Pérez"]
    assert segments[1].text == "Hola Ana. ¿Cuál es el PRECIO del plan anual?"
    assert (segments[0].start, segments[0].end) == (1.23, 4.56)


def test_teams_export_closed_voice_spans():
    segments = parse_transcript(load("teams.vtt"))
    assert [(s.start, s.label, s.text) for s in segments] == [
        (2.12, "Ana García", "Thanks for joining, Carlos."), (6.0, "Carlos Pérez", "Sure. Is this within our budget?")]


def test_srt_with_bom_crlf_comma_millis_and_two_line_subtitle():
    segments = parse_transcript(load("bom_crlf.srt"), filename="call.srt")
    assert [(s.start, s.end) for s in segments] == [(1.0, 3.5), (4.0, 7.25), (8.0, 12.0)]
    assert segments[1].text == "What is the price per seat?" and segments[1].label == "Prospect"
    assert segments[2].text == "It depends on the budget and the number of seats."


def test_json_segments_and_whisper_wrapper():
    segments = parse_transcript(load("segments.json"))
    assert [(s.start, s.label) for s in segments] == [(0.5, "rep"), (3.4, "prospect"), (8.0, "rep"), (13.0, "prospect")]
    wrapped = parse_transcript('{"segments": [{"start": 2, "end": 3, "text": " hola  "}]}')
    assert [(s.start, s.end, s.text, s.label) for s in wrapped] == [(2.0, 3.0, "hola", None)]


@pytest.mark.parametrize(("name", "problems"), [
    ("malformed.vtt", [6, 9, 12, 14]),
    ("malformed.srt", [6, 10]),
    ("malformed.json", [2, 3, 4, 5, 6]),
])
def test_malformed_files_list_every_bad_line(name, problems):
    with pytest.raises(TranscriptError) as caught:
        parse_transcript(load(name), filename=name)
    assert [number for number, _ in caught.value.problems] == problems
    assert caught.value.status == 422
    assert caught.value.fields["transcript"].count(":") >= len(problems)


def test_malformed_reasons_name_the_problem():
    with pytest.raises(TranscriptError) as caught:
        parse_transcript(load("malformed.vtt"))
    reasons = dict(caught.value.problems)
    assert "timing line" in reasons[6]
    assert "before it starts" in reasons[9]
    assert "00-59" in reasons[14]


@pytest.mark.parametrize(("raw", "field"), [
    (b"WEBVTT\n\n", "transcript"),                         # no cue
    (b"\xff\xfe\x00W", "transcript"),                      # not UTF-8
    ("WEBVTT\n\n00:01.000 --> 00:02.000\nhi\x00", "transcript"),
])
def test_empty_binary_and_nul_files_are_refused(raw, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_transcript(raw)
    assert field in caught.value.fields


def test_vtt_without_header_is_refused():
    with pytest.raises(TranscriptError) as caught:
        parse_transcript("00:01.000 --> 00:02.000\nhi", fmt="vtt")
    assert caught.value.problems[0][0] == 1


def test_format_detection():
    assert detect_format("WEBVTT\n") == "vtt"
    assert detect_format(" [ ]") == "json"
    assert detect_format("1\n00:00:01,000 --> 00:00:02,000\nx") == "srt"
    assert detect_format("anything", "call.VTT") == "vtt"


def test_fold_removes_accents_and_case():
    assert fold("  PRECÍO   Año ") == "precio ano"
    assert fold("Ñandú") == "nandu"


@pytest.mark.parametrize(("label", "expected"), [
    ("Ana García", "rep"), ("ana garcia", "rep"), ("Ana", "rep"), ("Carlos Pérez", "prospect"),
    ("Agent", "rep"), ("Cliente", "prospect"), ("Speaker 1", "prospect"), (None, None),
])
def test_speaker_roles(label, expected):
    assert speaker_role(label, ("Ana García", "Ana")) == expected


def test_unknown_names_stay_unplaced_without_the_reps_name():
    assert speaker_role("Carlos Pérez", ()) is None


def test_a_transcript_without_the_rep_guesses_no_names():
    assert speaker_roles({"Ana García", "Carlos Pérez", None}, ("Alice Rep", "Alice")) == {
        "Ana García": None, "Carlos Pérez": None, None: None}
    assert speaker_roles({"Alice", "Carlos Pérez"}, ("Alice Rep", "Alice")) == {
        "Alice": "rep", "Carlos Pérez": "prospect"}
