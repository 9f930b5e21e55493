"""The batch loop shared by every import: read records, clean them, write and commit a batch
at a time, report progress and rejections.

This module owns the transactions, the way a job or a CLI command does (the services it calls
only flush): each batch is exactly one transaction. A database failure rolls back the whole
batch, its rows are reported as rejected with the reason, and the import goes on with the next
batch; earlier batches stay committed.
"""
from __future__ import annotations

import gc
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Iterator, Protocol

from sqlalchemy.exc import SQLAlchemyError

from crm.extensions import db
from crm.i18n import _
from crm.imports.lookups import BatchResult, RowRejected, RowSkipped
from crm.imports.reader import CsvStream, ImportAborted

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportTally:
    """Counters of one import. For deals, created/updated/skipped count deals; rejected always
    counts rows."""

    rows_seen: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    bytes_read: int = 0
    total_bytes: int = 0
    noted: int = 0  # footer / summary lines skipped (also counted in ``skipped``)

    def plus(self, result: BatchResult, rows: int, bytes_read: int) -> ImportTally:
        return replace(
            self, rows_seen=self.rows_seen + rows, created=self.created + result.created,
            updated=self.updated + result.updated,
            skipped=self.skipped + result.skipped + len(result.notes),
            rejected=self.rejected + len(result.rejections), bytes_read=bytes_read,
            noted=self.noted + len(result.notes),
        )


class Importer(Protocol):
    def clean(self, values: list[str], line: int) -> Any: ...
    def can_cut(self, previous: Any, following: Any) -> bool: ...
    def write(self, batch: list[tuple[int, Any]]) -> BatchResult: ...
    def batch_committed(self) -> None: ...
    def batch_rolled_back(self) -> None: ...


class ProgressSink(Protocol):
    def stage(self, tally: ImportTally, rejections: list[tuple[int, str]],
              notes: list[tuple[int, str]]) -> None:
        """Inside the batch's transaction, before the commit (counters, rejection rows, notes
        on skipped footer lines)."""

    def committed(self, tally: ImportTally, rejections: list[tuple[int, str]],
                  notes: list[tuple[int, str]]) -> None:
        """After the commit (progress bar, rejects file)."""


class _Batch:
    def __init__(self) -> None:
        self.items: list[tuple[int, Any]] = []
        self.rejections: list[tuple[int, str]] = []
        self.notes: list[tuple[int, str]] = []
        self.rows = 0
        self.bytes_read = 0


def run_batches(
    stream: CsvStream, importer: Importer, sink: ProgressSink, *, batch_size: int,
    tally: ImportTally | None = None, skip_rows: int = 0,
) -> ImportTally:
    """Import every record of ``stream`` after the first ``skip_rows``.

    :raises ImportAborted: the file has a header but no rows (and nothing was skipped)
    """
    tally = tally or ImportTally(total_bytes=stream.total_bytes)
    with older_objects_frozen():
        for batch in _cut_batches(stream, importer, batch_size, skip_rows):
            tally = _flush(importer, sink, batch, tally)
    if tally.rows_seen == 0 and skip_rows == 0:
        raise ImportAborted(_("the file has a header line but no rows"))
    return tally


_freeze_lock = threading.Lock()
_freeze_users = 0


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Keep the objects that existed before the import (the application's modules, classes,
    mappers and caches: some 350,000 in a worker) out of the cycle collector's full passes
    while the import runs (``gc.freeze``); they go back when the last import in the process
    ends. An import allocates rows a batch at a time, some survive into the oldest generation,
    and every few dozen batches that triggers a full collection, which used to re-examine the
    whole application each time: ~10% of an import's time. Collection itself goes on as usual
    for everything the import allocates. Left alone when something else froze objects first
    (a server that freezes after loading): ``gc.unfreeze`` would release those too."""
    global _freeze_users
    with _freeze_lock:
        mine = _freeze_users > 0 or gc.get_freeze_count() == 0
        if mine:
            if _freeze_users == 0:
                gc.freeze()
            _freeze_users += 1
    try:
        yield
    finally:
        if mine:
            with _freeze_lock:
                _freeze_users -= 1
                if _freeze_users == 0:
                    gc.unfreeze()


def _cut_batches(stream: CsvStream, importer: Importer, batch_size: int, skip_rows: int) -> Iterator[_Batch]:
    """Clean records and group them into batches of about ``batch_size`` rows, cut where the
    importer allows (a deal's rows stay together)."""
    batch = _Batch()
    clean = importer.clean
    for line, values, error in stream.records(skip=skip_rows):
        if error is None:
            try:
                item = clean(values, line)
            except RowSkipped as exc:
                batch.notes.append((line, str(exc)))
                batch.rows += 1
                continue
            except RowRejected as exc:
                error = str(exc)
            else:
                if batch.rows >= batch_size and (
                    not batch.items or importer.can_cut(batch.items[-1][1], item)
                ):
                    yield _cut(batch, stream)
                    batch = _Batch()
                batch.items.append((line, item))
                batch.rows += 1
                continue
        batch.rejections.append((line, error))
        batch.rows += 1
        # Rejected rows alone never hold a batch open forever (memory stays bounded).
        if batch.rows >= 2 * batch_size:
            yield _cut(batch, stream)
            batch = _Batch()
    if batch.rows:
        yield _cut(batch, stream)


def _cut(batch: _Batch, stream: CsvStream) -> _Batch:
    batch.bytes_read = stream.bytes_read
    return batch


def _flush(importer: Importer, sink: ProgressSink, batch: _Batch, tally: ImportTally) -> ImportTally:
    try:
        result = importer.write(batch.items) if batch.items else BatchResult()
        rejections = sorted(batch.rejections + result.rejections)
        new_tally = tally.plus(BatchResult(result.created, result.updated, result.skipped, rejections,
                                           batch.notes), batch.rows, batch.bytes_read)
        sink.stage(new_tally, rejections, batch.notes)
        db.session.commit()
        importer.batch_committed()
    except SQLAlchemyError as exc:
        db.session.rollback()
        importer.batch_rolled_back()
        lines = [line for line, _item in batch.items]
        log.warning("import batch of lines %s-%s rolled back: %s", lines[0] if lines else "?",
                    lines[-1] if lines else "?", exc)
        reason = _("not imported: the batch of lines %(first)s-%(last)s failed in the database and was "
                   "rolled back (%(error)s)", first=lines[0], last=lines[-1], error=_short_error(exc)) if lines else ""
        rejections = sorted(batch.rejections + [(line, reason) for line in lines])
        new_tally = tally.plus(BatchResult(rejections=rejections, notes=batch.notes), batch.rows,
                               batch.bytes_read)
        sink.stage(new_tally, rejections, batch.notes)
        db.session.commit()
    sink.committed(new_tally, rejections, batch.notes)
    return new_tally


def _short_error(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return text[:200]
