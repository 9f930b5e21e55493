"""Running the analysis of pending recordings: the worker's periodic job and ``flask crm
recordings analyse-pending`` both call ``analyse_pending``. This module commits: the claim at
once (so other workers skip the recording), the progress as the decode goes (so the page shows
it), and the result.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable

from crm.extensions import db
from crm.jobs.claims import clock_from
from crm.recordings import analysis
from crm.recordings import services as recordings
from crm.recordings.models import Recording

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0


class ClaimLost(Exception):
    """Another worker took the recording over (this one was taken for dead): stop, write nothing."""


def analyse_pending(now: datetime, *, limit: int | None = None, budget_seconds: float | None = None) -> dict[str, int]:
    """Claim and analyse pending recordings one at a time until none is left, ``limit`` were
    done, or ``budget_seconds`` of real time have passed. Returns counts for the log."""
    clock = clock_from(now)
    started = time.monotonic()
    counts = {"ready": 0, "failed": 0}
    while limit is None or sum(counts.values()) < limit:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
        recording = recordings.claim_next_pending(clock())
        db.session.commit()
        if recording is None:
            break
        outcome = analyse_claimed(recording, clock)
        if outcome:
            counts[outcome] += 1
    return counts


def analyse_claimed(recording: Recording, clock: Callable[[], datetime]) -> str | None:
    """Analyse one claimed recording: "ready", "failed", or None if the claim was lost."""
    recording_id, attempt, layout = recording.id, recording.attempts, recording.channels
    try:
        if attempt > recordings.MAX_ATTEMPTS:
            raise analysis.UnreadableAudio(f"gave up after {recordings.MAX_ATTEMPTS} attempts")
        source = recordings.analysis_source(recording)
        result = analysis.analyse(source, layout, _progress_writer(recording_id, attempt, clock))
    except ClaimLost:
        db.session.rollback()
        return None
    except analysis.UnreadableAudio as problem:
        db.session.rollback()
        reason = str(problem)
        return _finish(recording_id, attempt, lambda r: recordings.fail_analysis(r, reason, clock()), "failed")
    except Exception:
        db.session.rollback()
        log.exception("recording %s: analysis crashed", recording_id)
        return _finish(recording_id, attempt,
                       lambda r: recordings.fail_analysis(r, "the analysis crashed (see the worker's log)", clock()),
                       "failed")
    return _finish(recording_id, attempt, lambda r: recordings.save_analysis(r, result, clock()), "ready")


def _finish(recording_id: int, attempt: int, write: Callable[[Recording], object], outcome: str) -> str | None:
    """Write the outcome only if the claim is still this attempt's (row locked meanwhile)."""
    recording = db.session.get(Recording, recording_id, with_for_update=True, populate_existing=True)
    if recording is None or recording.attempts != attempt or recording.status != "analysing":
        db.session.rollback()
        return None
    write(recording)
    db.session.commit()
    return outcome


def _progress_writer(recording_id: int, attempt: int, clock: Callable[[], datetime]) -> Callable[[float], None]:
    last = [0.0]

    def report(fraction: float) -> None:
        if time.monotonic() - last[0] < PROGRESS_EVERY_SECONDS and fraction < 1.0:
            return
        last[0] = time.monotonic()
        # 99 at most: 100 means analysed, written with the result
        if not recordings.record_progress(recording_id, attempt, min(int(fraction * 100), 99), clock()):
            raise ClaimLost()
        db.session.commit()

    return report
