"""Generated phone calls for the demo, the benchmark and the tests: two-channel audio where each
side "speaks" (a voiced buzz at a speaking pitch, in syllables with short pauses between
words) exactly during given segments, with line noise and a quieter copy of each side bleeding
into the other channel, as phone systems record. Written block by block, so an hour never sits
in memory."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

Turn = tuple[str, float, float]  # (side: "rep" | "prospect", start, end) in seconds

SYLLABLES_PER_SECOND = 4.0
WORD_PAUSE_SECONDS = 0.18   # a pause every WORD_SECONDS, well under the detector's merge gap
WORD_SECONDS = 0.9


def speech_like(start: float, end: float, rate: int, pitch: float, level: float) -> np.ndarray:
    """A voiced signal for [start, end): harmonics of ``pitch`` under a syllable envelope, silent
    for ``WORD_PAUSE_SECONDS`` after every word. Deterministic in (start, end)."""
    t = np.arange(int(round(start * rate)), int(round(end * rate))) / rate
    rng = np.random.default_rng(int(start * 1000) + 7)
    voice = sum(np.sin(2 * np.pi * pitch * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 6))
    syllables = 0.55 + 0.45 * np.abs(np.sin(np.pi * SYLLABLES_PER_SECOND * (t - start)))
    in_word = ((t - start) % WORD_SECONDS) < (WORD_SECONDS - WORD_PAUSE_SECONDS)
    in_word |= (end - t) < WORD_SECONDS  # the last word runs to the segment's end
    return (voice * syllables * in_word * level / 2.3).astype(np.float32)


def render(turns: list[Turn], start: float, end: float, rate: int, *, bleed: float = 0.05,
           noise: float = 0.002, rep_channel: int = 0) -> np.ndarray:
    """Samples of [start, end) of the call, shape (n, 2)."""
    n = int(round(end * rate)) - int(round(start * rate))
    out = np.zeros((n, 2), dtype=np.float32)
    offset = int(round(start * rate))
    for side, a, b in turns:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        channel = rep_channel if side == "rep" else 1 - rep_channel
        pitch, level = (120.0, 0.5) if side == "rep" else (210.0, 0.3)
        signal = speech_like(a, b, rate, pitch, level)
        first = int(round(a * rate)) - offset
        out[first:first + len(signal), channel] += signal[: n - first]
    mixed = out.copy()
    mixed[:, 0] += bleed * out[:, 1]
    mixed[:, 1] += bleed * out[:, 0]
    mixed += np.random.default_rng(offset).normal(0, noise, mixed.shape).astype(np.float32)
    return np.clip(mixed, -1, 1)


def write_call(path: Path | str, turns: list[Turn], duration: float, rate: int = 8000, *,
               block_seconds: float = 60.0, mono: bool = False, **options) -> Path:
    """Write the call to ``path`` (format from the extension: .wav 16-bit PCM, .flac, .ogg,
    .mp3), ``block_seconds`` at a time."""
    path = Path(path)
    fmt, subtype = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
                    ".opus": ("OGG", "OPUS"), ".mp3": ("MP3", "MPEG_LAYER_III")}[path.suffix.lower()]
    with soundfile.SoundFile(str(path), "w", rate, 1 if mono else 2, subtype=subtype, format=fmt) as out:
        start = 0.0
        while start < duration:
            end = min(start + block_seconds, duration)
            block = render(turns, start, end, rate, **options)
            out.write(block.mean(axis=1) if mono else block)
            start = end
    return path


def alternating_turns(duration: float, rep_seconds: tuple[float, float] = (4, 25),
                      prospect_seconds: tuple[float, float] = (3, 40), gap: float = 0.7,
                      seed: int = 0) -> list[Turn]:
    """A conversation: turns alternating rep / prospect with lengths drawn from the ranges."""
    rng = np.random.default_rng(seed)
    turns: list[Turn] = []
    at, side = 1.0, "rep"
    while True:
        low, high = rep_seconds if side == "rep" else prospect_seconds
        length = float(rng.uniform(low, high))
        if at + length > duration - 1:
            break
        turns.append((side, round(at, 2), round(at + length, 2)))
        at += length + gap
        side = "prospect" if side == "rep" else "rep"
    return turns
