"""Helpers for the import tests: write a CSV file, import it, collect what the import reports."""
from __future__ import annotations

from pathlib import Path

import pytest

from crm.imports.services import ImportOptions, import_file
from tests.conftest import NOW


class CollectingSink:
    """Records every rejection and the counters after each batch, as a job or the CLI would."""

    def __init__(self):
        self.rejections: list[tuple[int, str]] = []
        self.notes: list[tuple[int, str]] = []
        self.tallies = []

    def stage(self, tally, rejections, notes):
        pass

    def committed(self, tally, rejections, notes):
        self.rejections.extend(rejections)
        self.notes.extend(notes)
        self.tallies.append(tally)

    def reasons(self) -> dict[int, str]:
        return dict(self.rejections)


@pytest.fixture
def csv_file(tmp_path):
    """``csv_file(text, encoding="utf-8", name=...)`` -> path; ``text`` may also be bytes."""
    counter = iter(range(1, 1000))

    def write(text, encoding="utf-8", name=None) -> Path:
        path = tmp_path / (name or f"file{next(counter)}.csv")
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        return path

    return write


@pytest.fixture
def run_import(admin):
    """``run_import(path, kind="contacts", actor=None, **options)`` -> (outcome, sink)."""

    def run(path, kind="contacts", actor=None, **options):
        sink = CollectingSink()
        outcome = import_file(path, kind, actor=actor or admin, now=NOW,
                              options=ImportOptions(**options), sink=sink)
        return outcome, sink

    return run
