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
    return np.fromiter(map(hash, values), dtype=np.int64, count=len(values))


class SeenEmails:
    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (hashes, lines, raw hashes)
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def repeats(self, lines: list[int], emails: list[str], written: list[str]) -> dict[int, tuple[int, bool]]:
        """For a batch of rows in file order, given as their lines, emails and emails as
        written: ``{line: (first line, differs only in case)}`` for every row whose email came
        earlier (in an earlier committed batch or earlier in this one). The others are
        remembered once the batch commits (``committed``)."""
        found: dict[int, tuple[int, bool]] = {}
        if not lines:
            self._pending = None
            return found
        count = len(lines)
        line_array = np.fromiter(lines, dtype=np.int64, count=count)
        hashes = _hashes(emails)
        raw = _hashes(written)
        for run_hashes, run_lines, run_raw in self._runs:
            at = np.searchsorted(run_hashes, hashes)
            inside = at < len(run_hashes)
            hit = np.zeros(count, dtype=bool)
            hit[inside] = run_hashes[at[inside]] == hashes[inside]
            for i in np.flatnonzero(hit):
                line = int(line_array[i])
                if line not in found:
                    found[line] = (int(run_lines[at[i]]), bool(run_raw[at[i]] != raw[i]))
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        if not found and not (ordered[1:] == ordered[:-1]).any():
            # The usual batch: no email seen before, none twice.
            self._pending = (ordered, line_array[order], raw[order])
            return found
        first_in_batch: dict[int, int] = {}
        keep = np.ones(count, dtype=bool)
        for i, value in enumerate(hashes.tolist()):
            line = int(line_array[i])
            if line in found:
                keep[i] = False
            elif value in first_in_batch:
                j = first_in_batch[value]
                found[line] = (int(line_array[j]), bool(raw[j] != raw[i]))
                keep[i] = False
            else:
                first_in_batch[value] = i
        order = np.argsort(hashes[keep], kind="stable")
        self._pending = (hashes[keep][order], line_array[keep][order], raw[keep][order])
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
