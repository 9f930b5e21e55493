"""What a call recording says without words: duration, waveform peaks, and from voice activity
per channel who talked when (talk ratio, longest monologues, speaker switches, the prospect's
longest story, silence).

Streaming: the file is decoded in blocks of ``BLOCK_SECONDS`` (``soundfile.SoundFile.blocks``);
each block is cut into ``FRAME_SECONDS`` frames and only one number per frame and channel is
kept (its mean power). An hour at 20 ms frames is 180,000 frames per channel, under 2 MB, while
the decoded hour of 16 kHz stereo is 460 MB as float32; the block is dropped before the next.
Everything after the decode works on those frame powers, vectorised with numpy.

Voice activity: an energy detector per channel, thresholds adapted to each channel (levels
differ by line and phone), because a per-frame VAD library such as webrtcvad costs a Python
call per 10-30 ms frame (some 250,000 calls an hour per channel), several times the decode
time we must stay under. The rules, in order (values below, reasons in the README section
"Call recordings"):

1. a frame's level is its mean power in dB relative to full scale (dBFS), floored at
   ``FLOOR_DB``;
2. per channel, the noise floor is the ``NOISE_PERCENTILE`` of its frame levels and the speech
   level the ``SPEECH_PERCENTILE``; a frame is loud enough when it is above
   ``noise + max(MIN_SNR_DB, SPLIT * (speech - noise))`` and above ``ABSOLUTE_MIN_DB``;
3. bleed: phone systems leak a quieter copy of each side into the other channel (echo,
   sidetone). A frame is speech of one side only if it is not more than ``BLEED_MARGIN_DB``
   below the other channel at the same moment: a copy is at least that much quieter than its
   source, while two people talking at once are within a few dB;
4. pauses between words and breaths: runs of speech frames closer than ``MERGE_GAP_SECONDS``
   are one segment (hangover), and segments shorter than ``MIN_SPEECH_SECONDS`` (clicks, a
   cough) are dropped.

From the segments: a **turn** is one side's consecutive segments until the other side speaks;
the longest monologue per side is its longest turn; a switch is a change of turn; the
prospect's longest story is their longest turn when the rep's interjections shorter than
``STORY_INTERJECTION_SECONDS`` ("right", "uh-huh") do not end it; silence is the share of the
call where neither side speaks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile

FRAME_SECONDS = 0.02
BLOCK_SECONDS = 30
WAVEFORM_POINTS = 1000
FLOOR_DB = -100.0
NOISE_PERCENTILE = 10
SPEECH_PERCENTILE = 99
MIN_SNR_DB = 10.0
SPLIT = 0.35
ABSOLUTE_MIN_DB = -60.0
BLEED_MARGIN_DB = 12.0
MERGE_GAP_SECONDS = 0.6
MIN_SPEECH_SECONDS = 0.15
STORY_INTERJECTION_SECONDS = 2.0

Segments = list[tuple[float, float]]
Progress = Callable[[float], None]


class UnreadableAudio(Exception):
    """The file could not be decoded to the end (corrupt, truncated, unsupported)."""


@dataclass
class Analysis:
    duration_seconds: float
    waveform: list[float]
    speech_share: float
    silence_share: float
    segments: dict[str, Segments]
    channel_count: int
    sample_rate: int
    rep_speech_seconds: float | None = None
    prospect_speech_seconds: float | None = None
    talk_ratio_rep: float | None = None
    longest_monologue_rep_seconds: float | None = None
    longest_monologue_prospect_seconds: float | None = None
    prospect_longest_story_seconds: float | None = None
    switches_per_minute: float | None = None
    thresholds_db: dict[str, float] = field(default_factory=dict)


# --- decoding: frame powers, streamed -------------------------------------------------------

@dataclass
class FramePowers:
    powers: np.ndarray    # (frames, channels) float32 mean power per frame
    sample_rate: int
    frames_decoded: int   # audio frames (samples per channel), the exact duration


def frame_powers(path: Path | str, progress: Progress | None = None) -> FramePowers:
    """Decode ``path`` block by block and keep the mean power of every ``FRAME_SECONDS`` frame
    per channel. A partial frame at a block's end is carried into the next block."""
    try:
        with soundfile.SoundFile(str(path)) as audio:
            return _frame_powers(audio, progress)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as problem:
        raise UnreadableAudio(f"the audio could not be decoded: {problem}") from None


def _frame_powers(audio: soundfile.SoundFile, progress: Progress | None) -> FramePowers:
    rate, channels = audio.samplerate, audio.channels
    frame = max(1, round(rate * FRAME_SECONDS))
    block = frame * max(1, round(BLOCK_SECONDS / FRAME_SECONDS))
    expected = audio.frames if audio.frames > 0 else 0
    # One block's memory, twice, reused: as decoded (interleaved) and channel by channel.
    # Fresh arrays per block would cost page faults on every block.
    buffer = np.empty((block, channels), dtype=np.float32)
    channel_major = np.empty((channels, block), dtype=np.float32)
    chunks: list[np.ndarray] = []
    decoded = 0
    while True:
        data = audio.read(block, dtype="float32", always_2d=True, out=buffer)
        if not len(data):
            break
        decoded += len(data)
        np.copyto(channel_major[:, :len(data)], data.T)
        chunks.append(_powers_of_block(channel_major[:, :len(data)], frame))
        if progress and expected:
            progress(min(decoded / expected, 1.0))
        if len(data) < block:  # reads are whole blocks until the end of the file
            break
    powers = np.concatenate(chunks) if chunks else np.zeros((0, channels))
    return FramePowers(powers, rate, decoded)


def _powers_of_block(channel_major: np.ndarray, frame: int) -> np.ndarray:
    """Mean power of each frame of ``channel_major`` (channels, samples), as (frames, channels):
    channels first so every frame is contiguous, then one sum of squares per frame (einsum: no
    squared copy of the block). A short last frame (the end of the file) is averaged over its
    own length."""
    channels, samples = channel_major.shape
    whole = samples - samples % frame
    shaped = channel_major[:, :whole].reshape(channels, -1, frame)
    powers = (np.einsum("cfs,cfs->cf", shaped, shaped) / frame).T
    if whole < samples:
        tail = channel_major[:, whole:]
        powers = np.vstack([powers, np.einsum("cs,cs->c", tail, tail)[None, :] / tail.shape[1]])
    return powers


# --- the analysis ---------------------------------------------------------------------------

def analyse(path: Path | str, layout: str, progress: Progress | None = None) -> Analysis:
    """Analyse ``path``; ``layout`` is ``rep-left``, ``rep-right`` or ``mono`` (a one-channel
    file is analysed as mono whatever the layout says)."""
    decoded = frame_powers(path, progress)
    return analyse_powers(decoded, layout)


def analyse_powers(decoded: FramePowers, layout: str) -> Analysis:
    powers = decoded.powers
    duration = decoded.frames_decoded / decoded.sample_rate if decoded.sample_rate else 0.0
    if duration <= 0 or not len(powers):
        raise UnreadableAudio("the audio is empty")
    levels = to_db(powers)
    waveform = waveform_peaks(powers)
    channel_count = powers.shape[1]
    if channel_count == 1 or layout == "mono":
        return _mono(levels.max(axis=1), duration, waveform, decoded.sample_rate, channel_count)
    rep_index = 1 if layout == "rep-right" else 0
    return _stereo(levels[:, rep_index], levels[:, 1 - rep_index], duration, waveform,
                   decoded.sample_rate, channel_count)


def to_db(powers: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(10 * np.log10(powers, dtype=np.float64), FLOOR_DB)


def waveform_peaks(powers: np.ndarray, points: int = WAVEFORM_POINTS) -> list[float]:
    """At most ``points`` values in 0..1: per stretch of the call, the loudest frame's RMS
    amplitude over both channels, scaled so the loudest stretch is 1."""
    amplitude = np.sqrt(powers.max(axis=1))
    if not len(amplitude):
        return []
    edges = np.linspace(0, len(amplitude), min(points, len(amplitude)) + 1).astype(int)
    peaks = np.maximum.reduceat(amplitude, edges[:-1])
    top = float(peaks.max())
    return [round(float(p) / top, 3) if top > 0 else 0.0 for p in peaks]


def speech_threshold(levels: np.ndarray) -> float:
    noise = float(np.percentile(levels, NOISE_PERCENTILE))
    speech = float(np.percentile(levels, SPEECH_PERCENTILE))
    return max(noise + max(MIN_SNR_DB, SPLIT * (speech - noise)), ABSOLUTE_MIN_DB)


def segments_of(active: np.ndarray) -> Segments:
    """Speech frames -> [start, end) segments in seconds, pauses under ``MERGE_GAP_SECONDS``
    bridged, then segments under ``MIN_SPEECH_SECONDS`` dropped."""
    if not active.any():
        return []
    padded = np.concatenate([[False], active, [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = changes[0::2], changes[1::2]
    merged: list[list[int]] = [[int(starts[0]), int(ends[0])]]
    gap_frames = MERGE_GAP_SECONDS / FRAME_SECONDS
    for start, end in zip(starts[1:], ends[1:]):
        if start - merged[-1][1] < gap_frames:
            merged[-1][1] = int(end)
        else:
            merged.append([int(start), int(end)])
    shortest = MIN_SPEECH_SECONDS / FRAME_SECONDS
    return [(round(s * FRAME_SECONDS, 2), round(e * FRAME_SECONDS, 2)) for s, e in merged if e - s >= shortest]


def total(segments: Segments) -> float:
    return sum(end - start for start, end in segments)


def covered_seconds(*sides: Segments) -> float:
    """Seconds covered by any segment of any side (overlaps counted once)."""
    spans = sorted(span for side in sides for span in side)
    covered, reach = 0.0, float("-inf")
    for start, end in spans:
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered


def _mono(levels: np.ndarray, duration: float, waveform: list[float], rate: int, channel_count: int) -> Analysis:
    threshold = speech_threshold(levels)
    speech = segments_of(levels > threshold)
    share = min(total(speech) / duration, 1.0)
    return Analysis(duration_seconds=round(duration, 3), waveform=waveform, speech_share=round(share, 4),
                    silence_share=round(1 - share, 4), segments={"speech": speech}, channel_count=channel_count,
                    sample_rate=rate, thresholds_db={"speech": round(threshold, 1)})


def _stereo(rep_db: np.ndarray, prospect_db: np.ndarray, duration: float, waveform: list[float], rate: int,
            channel_count: int) -> Analysis:
    rep_threshold, prospect_threshold = speech_threshold(rep_db), speech_threshold(prospect_db)
    rep_active = (rep_db > rep_threshold) & (rep_db >= prospect_db - BLEED_MARGIN_DB)
    prospect_active = (prospect_db > prospect_threshold) & (prospect_db >= rep_db - BLEED_MARGIN_DB)
    rep, prospect = segments_of(rep_active), segments_of(prospect_active)
    rep_seconds, prospect_seconds = total(rep), total(prospect)
    spoken = covered_seconds(rep, prospect)
    turns = turns_of(rep, prospect)
    minutes = duration / 60
    return Analysis(
        duration_seconds=round(duration, 3), waveform=waveform, channel_count=channel_count, sample_rate=rate,
        speech_share=round(min(spoken / duration, 1.0), 4), silence_share=round(max(1 - spoken / duration, 0.0), 4),
        segments={"rep": rep, "prospect": prospect},
        rep_speech_seconds=round(rep_seconds, 2), prospect_speech_seconds=round(prospect_seconds, 2),
        talk_ratio_rep=round(rep_seconds / (rep_seconds + prospect_seconds), 4) if rep or prospect else None,
        longest_monologue_rep_seconds=round(longest_turn(turns, "rep"), 2),
        longest_monologue_prospect_seconds=round(longest_turn(turns, "prospect"), 2),
        prospect_longest_story_seconds=round(longest_story(rep, prospect), 2),
        switches_per_minute=round(max(len(turns) - 1, 0) / minutes, 3) if minutes else 0.0,
        thresholds_db={"rep": round(rep_threshold, 1), "prospect": round(prospect_threshold, 1)},
    )


def turns_of(rep: Segments, prospect: Segments) -> list[tuple[str, float, float]]:
    """(side, start, end) of each turn: one side's segments, in order of start, until a
    segment of the other side starts."""
    spoken = sorted([(s, e, "rep") for s, e in rep] + [(s, e, "prospect") for s, e in prospect])
    turns: list[tuple[str, float, float]] = []
    for start, end, side in spoken:
        if turns and turns[-1][0] == side:
            turns[-1] = (side, turns[-1][1], max(turns[-1][2], end))
        else:
            turns.append((side, start, end))
    return turns


def longest_turn(turns: list[tuple[str, float, float]], side: str) -> float:
    return max((end - start for who, start, end in turns if who == side), default=0.0)


def longest_story(rep: Segments, prospect: Segments) -> float:
    """The prospect's longest turn when the rep's short interjections do not end it."""
    interrupting = [(s, e) for s, e in rep if e - s >= STORY_INTERJECTION_SECONDS]
    return longest_turn(turns_of(interrupting, prospect), "prospect")
