"""Streaming CSV reading: bytes in, one record at a time out, with physical line numbers.

The file is read line by line from a binary handle and decoded per line, so that
- memory stays flat whatever the file size (never ``read()``, never a list of rows);
- a byte sequence that is invalid in the chosen encoding rejects only the record it belongs to,
  with a reason naming the encoding, instead of crashing or silently mangling the text;
- line numbers are physical lines (header = line 1), also when a quoted field spans lines.
"""
from __future__ import annotations

import codecs
import csv
import logging
from typing import BinaryIO, Iterator, NamedTuple

from crm.i18n import _

log = logging.getLogger(__name__)

UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
MAX_LINE_BYTES = 1024 * 1024
MAX_FIELD_CHARS = 100_000
# Encodings whose newline is not the single byte 0x0A cannot be split line by line.
UNSUPPORTED_ENCODINGS = ("utf-16", "utf-32")
DEFAULT_ENCODING = "utf-8"

csv.field_size_limit(MAX_FIELD_CHARS)


class ImportAborted(Exception):
    """The whole file cannot be imported (empty, no header, missing column, unknown encoding);
    raised before any row is written, or for a structural problem mid-file."""


class Record(NamedTuple):
    """One CSV record. ``error`` is set (and ``values`` empty) when the record could not be read.
    (A named tuple: one is made per line, and a frozen dataclass costs several times more.)"""

    line_number: int
    values: list[str]
    error: str | None = None


def check_encoding(name: str | None) -> str:
    """The canonical codec name for ``name`` (default UTF-8).

    :raises ImportAborted: unknown, or not line-splittable (UTF-16/32)
    """
    name = (name or DEFAULT_ENCODING).strip() or DEFAULT_ENCODING
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        raise ImportAborted(_("unknown encoding %(name)s; try utf-8, cp1252 or latin-1",
                              name=repr(name[:40]))) from None
    canonical = info.name
    if canonical.startswith(UNSUPPORTED_ENCODINGS):
        raise ImportAborted(_("%(name)s files are not supported; save the file as CSV UTF-8", name=name))
    # Codecs that are not text encodings (base64, rot13, zlib...) or that cannot decode a line
    # of Latin text at all ("undefined") are refused here rather than failing on every line.
    try:
        if not getattr(info, "_is_text_encoding", True):
            raise ValueError
        b"email,name\r\nz@x.com,Zo\xeb\n".decode(canonical, "replace")
    except Exception:
        raise ImportAborted(_("%(name)s cannot read CSV text; try utf-8, cp1252 or latin-1",
                              name=repr(name[:40]))) from None
    return "utf-8" if canonical == "utf-8-sig" else canonical


class CsvStream:
    """Reads a CSV file incrementally from a binary handle.

    ``header`` is the first record; ``records()`` yields the rest. ``bytes_read`` tracks progress.
    """

    def __init__(self, handle: BinaryIO, encoding: str | None = None, total_bytes: int = 0,
                 delimiter: str = ","):
        self._handle = handle
        self.encoding = check_encoding(encoding)
        self.delimiter = delimiter
        self.total_bytes = total_bytes
        self.bytes_read = 0
        self._bad_lines: dict[int, str] = {}
        self._reader = csv.reader(self._decoded_lines(), delimiter=delimiter, strict=False)
        self._records = self._all_records()
        self._last_line = 0
        self.header = self._read_header()

    # --- decoding ---------------------------------------------------------------------

    def _decoded_lines(self) -> Iterator[str]:
        line_number = 0
        readline = self._handle.readline
        decode = codecs.getdecoder(self.encoding)
        while True:
            chunk = readline(MAX_LINE_BYTES)
            if not chunk:
                return
            line_number += 1
            self.bytes_read += len(chunk)
            if len(chunk) == MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                raise ImportAborted(
                    _("line %(line)s is longer than %(size)s MB: is this really a CSV file?",
                      line=line_number, size=MAX_LINE_BYTES // 1024 // 1024)
                )
            if line_number == 1:
                chunk = self._strip_bom(chunk)
            try:
                yield decode(chunk)[0]
            except UnicodeDecodeError as exc:
                self._bad_lines[line_number] = (
                    (_("byte 0x%(byte)s on line %(line)s is not valid %(encoding)s (if the file comes from "
                       "Excel on Windows, choose the cp1252 encoding)",
                       byte=f"{chunk[exc.start]:02x}", line=line_number, encoding=self.encoding)
                     if self.encoding == "utf-8" else
                     _("byte 0x%(byte)s on line %(line)s is not valid %(encoding)s",
                       byte=f"{chunk[exc.start]:02x}", line=line_number, encoding=self.encoding))
                )
                yield chunk.decode(self.encoding, "replace")

    def _strip_bom(self, chunk: bytes) -> bytes:
        if chunk.startswith(UTF16_BOMS):
            raise ImportAborted(_("the file is UTF-16 (Excel 'Unicode text'); save it as CSV UTF-8"))
        # A UTF-8 byte-order mark means UTF-8 whatever was chosen; drop it so the first header
        # is not polluted by it.
        return chunk[len(UTF8_BOM):] if chunk.startswith(UTF8_BOM) else chunk

    # --- records ----------------------------------------------------------------------

    def _all_records(self) -> Iterator[Record]:
        """Every non-blank record, header included (one generator for the whole file: this
        runs once per line)."""
        reader = self._reader
        while True:
            start = self._last_line + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._last_line = reader.line_num
                yield Record(start, [], _("unreadable CSV: %(error)s", error=exc))
                continue
            self._last_line = end = reader.line_num
            if not "".join(values).strip():  # blank: every cell empty or white space
                self._forget_bad_lines(end)
                continue
            if self._bad_lines:
                error = self._decoding_error(start, end)
                if error:
                    yield Record(start, [], error)
                    continue
            yield Record(start, values)

    def _decoding_error(self, start: int, end: int) -> str | None:
        if not self._bad_lines:
            return None
        error = next((self._bad_lines[n] for n in range(start, end + 1) if n in self._bad_lines), None)
        self._forget_bad_lines(end)
        return error

    def _forget_bad_lines(self, end: int) -> None:
        for n in [n for n in self._bad_lines if n <= end]:
            del self._bad_lines[n]

    def _read_header(self) -> list[str]:
        record = next(self._records, None)
        if record is None:
            raise ImportAborted(_("the file is empty"))
        if record.error and "new-line character" in record.error:
            raise ImportAborted(_("the lines end with a bare carriage return (old Mac format); "
                                  "save the file as CSV UTF-8"))
        if record.error:
            raise ImportAborted(_("the header line cannot be read: %(error)s", error=record.error))
        header = [h.strip() for h in record.values]
        if not any(header):
            raise ImportAborted(_("the first line must be a header naming the columns"))
        return header

    def records(self, *, skip: int = 0) -> Iterator[Record]:
        """Every record after the header; the first ``skip`` are read but not yielded (resuming
        a job whose first rows are already committed)."""
        records = self._records
        for _skipped in range(skip):
            if next(records, None) is None:
                return
        yield from records
