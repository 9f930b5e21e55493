"""The emails a contact import has already read, to report a row that repeats an earlier one
with both line numbers ("already on line 3 of this file; lines 3 and 9 ...").

A dict of every email would cost ~300 bytes a row (30 MB for 100,000 rows, and the import
promises flat memory). Instead each committed batch becomes a sorted run of 64-bit hashes
(with the line and a hash of the email as written), 20 bytes a row, looked up a whole batch
at a time with ``searchsorted``; runs are merged once there are a few, so a lookup stays a
handful of numpy calls. ``hash()`` of a string is stable within the process, which is all this
needs; two different emails sharing a 64-bit hash is a one-in-10^10 event for a million rows.
"""
from __future__ import annotations

import numpy as np

MAX_RUNS = 6


def _hashes(values: list[str]) -> np.ndarray:
    return np.fromiter((hash(v) for v in values), dtype=np.int64, count=len(values))


class SeenEmails:
    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (hashes, lines, raw hashes)
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def repeats(self, rows: list[tuple[int, str, str]]) -> dict[int, tuple[int, bool]]:
        """For a batch of ``(line, email, email as written)`` in file order: ``{line: (first
        line, differs only in case)}`` for every row whose email came earlier (in an earlier
        committed batch or earlier in this one). The others are remembered once the batch
        commits (``committed``)."""
        found: dict[int, tuple[int, bool]] = {}
        if not rows:
            self._pending = None
            return found
        lines = np.fromiter((line for line, _e, _r in rows), dtype=np.int64, count=len(rows))
        hashes = _hashes([email for _l, email, _r in rows])
        raw = _hashes([written for _l, _e, written in rows])
        for run_hashes, run_lines, run_raw in self._runs:
            at = np.searchsorted(run_hashes, hashes)
            inside = at < len(run_hashes)
            hit = np.zeros(len(rows), dtype=bool)
            hit[inside] = run_hashes[at[inside]] == hashes[inside]
            for i in np.flatnonzero(hit):
                line = int(lines[i])
                if line not in found:
                    found[line] = (int(run_lines[at[i]]), bool(run_raw[at[i]] != raw[i]))
        first_in_batch: dict[int, int] = {}
        keep = np.ones(len(rows), dtype=bool)
        for i, value in enumerate(hashes.tolist()):
            line = int(lines[i])
            if line in found:
                keep[i] = False
            elif value in first_in_batch:
                j = first_in_batch[value]
                found[line] = (int(lines[j]), bool(raw[j] != raw[i]))
                keep[i] = False
            else:
                first_in_batch[value] = i
        order = np.argsort(hashes[keep], kind="stable")
        self._pending = (hashes[keep][order], lines[keep][order], raw[keep][order])
        return found

    def committed(self) -> None:
        if self._pending is not None and len(self._pending[0]):
            self._runs.append(self._pending)
            if len(self._runs) > MAX_RUNS:
                self._merge()
        self._pending = None

    def rolled_back(self) -> None:
        self._pending = None  # the batch's rows were not imported: a later repeat is new

    def _merge(self) -> None:
        hashes = np.concatenate([run[0] for run in self._runs])
        lines = np.concatenate([run[1] for run in self._runs])
        raw = np.concatenate([run[2] for run in self._runs])
        order = np.argsort(hashes, kind="stable")
        self._runs = [(hashes[order], lines[order], raw[order])]
