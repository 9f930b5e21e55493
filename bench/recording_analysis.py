"""Benchmark: analysing an hour-long stereo call recording next to only decoding it.

    .venv/bin/python bench/recording_analysis.py                  # 60 min, 8 kHz, 5 rounds
    .venv/bin/python bench/recording_analysis.py --minutes 60 --rate 16000 --repeats 5

Generates a 60-minute two-channel 16-bit PCM WAV at 8 kHz (as phone systems record G.711
calls; ``--rate 16000`` for wideband) with ``crm.recordings.synthetic`` (turns of 3-40 s,
line noise, bleed between the channels), then in the same run, alternately:

- decode only: the same blocks the analysis reads (``BLOCK_SECONDS``, float32, one reused
  buffer), nothing computed;
- analysis: ``crm.recordings.analysis.analyse`` (frame powers, thresholds, voice activity,
  turns, waveform).

Each round decodes then analyses; prints every round's ratio and their median, the figure
checked against the target (at most 1.5): on a shared machine the load moves between runs, so
a round compares neighbours. Then the analysis's peak memory: traced (tracemalloc, numpy's
buffers included; a separate run, since tracing slows it) and the peak RSS growth of a fresh
process analysing the file, against the size of the decoded hour as float32; and the figures
found against the generated truth.
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm.recordings import analysis, synthetic  # noqa: E402

TARGET_RATIO = 1.5


def decode_only(path: Path) -> int:
    """Read every block as the analysis does and drop it."""
    with soundfile.SoundFile(str(path)) as audio:
        frame = max(1, round(audio.samplerate * analysis.FRAME_SECONDS))
        block = frame * max(1, round(analysis.BLOCK_SECONDS / analysis.FRAME_SECONDS))
        buffer = np.empty((block, audio.channels), dtype=np.float32)
        decoded = 0
        while True:
            data = audio.read(block, dtype="float32", always_2d=True, out=buffer)
            decoded += len(data)
            if len(data) < block:
                return decoded


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def first_run_rss_growth(path: Path) -> float:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_first_run_rss_growth, (str(path),))


def _first_run_rss_growth(path: str) -> float:
    """VmHWM (peak RSS) reset to the current RSS first (Linux: ``clear_refs`` 5), so start-up
    peaks do not hide the analysis's; else the plain ru_maxrss growth."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kb("VmRSS")
        analysis.analyse(path, "rep-left")
        return (_status_kb("VmHWM") - before) / 1024
    except OSError:
        before = peak_rss_mb()
        analysis.analyse(path, "rep-left")
        return peak_rss_mb() - before


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    seconds = args.minutes * 60
    turns = synthetic.alternating_turns(seconds, rep_seconds=(3, 30), prospect_seconds=(3, 40), seed=11)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hour.wav"
        generated, _ = timed(synthetic.write_call, path, turns, seconds, args.rate)
        info = soundfile.info(str(path))
        decoded_bytes = info.frames * info.channels * 4
        print(f"file: {args.minutes:g} min, {info.samplerate} Hz, {info.channels} channels, {info.subtype}, "
              f"{path.stat().st_size / 1e6:.0f} MB on disk (generated in {generated:.1f} s); "
              f"decoded as float32: {decoded_bytes / 1e6:.0f} MB")
        decode_times, analysis_times = [], []
        result = None
        for _ in range(args.repeats):
            decode_times.append(timed(decode_only, path)[0])
            elapsed, result = timed(analysis.analyse, path, "rep-left")
            analysis_times.append(elapsed)
        best_decode, best_analysis = min(decode_times), min(analysis_times)
        rounds = [a / d for a, d in zip(analysis_times, decode_times)]
        ratio = float(np.median(rounds))
        print(f"decode only: best {best_decode:.3f} s of {', '.join(f'{t:.3f}' for t in decode_times)}")
        print(f"analysis:    best {best_analysis:.3f} s of {', '.join(f'{t:.3f}' for t in analysis_times)}")
        print(f"ratio analysis / decode: median of rounds {ratio:.2f} (rounds {', '.join(f'{r:.2f}' for r in rounds)}; "
              f"best / best {best_analysis / best_decode:.2f}); target <= {TARGET_RATIO}: "
              f"{'met' if ratio <= TARGET_RATIO else 'NOT MET'}")
        tracemalloc.start()
        analysis.analyse(path, "rep-left")
        _current, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth = first_run_rss_growth(path)
        print(f"peak memory of the analysis: {traced_peak / 1e6:.1f} MB traced (tracemalloc); a fresh process's "
              f"peak RSS grew {rss_growth:.1f} MB analysing it; the decoded hour would be "
              f"{decoded_bytes / 1e6:.0f} MB (traced peak = {traced_peak / decoded_bytes:.1%} of it)")
        report_truth(result, turns, seconds)


def report_truth(result, turns, seconds: float) -> None:
    rep = [(a, b) for side, a, b in turns if side == "rep"]
    prospect = [(a, b) for side, a, b in turns if side == "prospect"]
    rep_s, prospect_s = analysis.total(rep), analysis.total(prospect)
    rows = [
        ("talk ratio (rep)", result.talk_ratio_rep, rep_s / (rep_s + prospect_s)),
        ("longest monologue rep, s", result.longest_monologue_rep_seconds, max(b - a for a, b in rep)),
        ("longest monologue prospect, s", result.longest_monologue_prospect_seconds,
         max(b - a for a, b in prospect)),
        ("switches per minute", result.switches_per_minute, (len(turns) - 1) / (seconds / 60)),
    ]
    for name, found, truth in rows:
        print(f"  {name:32} found {found:8.3f}  truth {truth:8.3f}  ({(found - truth) / truth:+.2%})")


if __name__ == "__main__":
    main()
