"""What kind of CSV a file is, guessed from its first bytes: the encoding and the delimiter.

Excel on a Spanish (French, German...) Windows saves "CSV" as cp1252 text separated by ``;``;
HubSpot and Salesforce write UTF-8 with commas, some tools tabs. A user should not have to know.

- Encoding: a UTF-8 byte-order mark, or a sample that decodes as UTF-8, means UTF-8 (pure ASCII
  included). Otherwise charset-normalizer names the encoding; a Latin-1 answer becomes cp1252,
  its superset on the printable range (Excel on Windows never writes the C1 controls Latin-1
  would give bytes 0x80-0x9f).
- Delimiter: ``csv.Sniffer`` proposes one of ``, ; TAB |``, and the header decides: the
  delimiter that splits the header into the most columns the import knows (synonyms of the
  kind's fields) wins, the sniffer's choice breaking ties. A single column named
  ``Nombre;Apellidos;...`` is what a wrong delimiter looks like, and it knows no column.
"""
from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from typing import Callable

from charset_normalizer import from_bytes

from crm.i18n import _

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Latin-script single-byte code pages charset-normalizer may name for a short Western text
# ("Lefèvre" reads as cp1250 "Lefčvre" just as well to a statistical guess). The CRM's users
# write English and Spanish: when the sample decodes as cp1252 (Excel on Western Windows),
# cp1252 wins over these; a Cyrillic, Greek or Asian guess is kept.
LATIN_SCRIPT = {"latin_1", "iso8859_1", "iso8859_15", "ascii", "cp1250", "cp1252", "iso8859_2",
                "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14",
                "iso8859_16", "cp1254", "cp1257", "mac_roman", "mac_latin2", "mac_iceland", "mac_turkish",
                "cp850", "cp437", "cp858", "hp_roman8", "cp1258"}


@dataclass(frozen=True)
class Detected:
    encoding: str
    delimiter: str
    encoding_guessed: bool  # False: the caller chose it
    delimiter_guessed: bool

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def read_sample(path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(SAMPLE_BYTES)


def _whole_lines(sample: bytes) -> bytes:
    """The sample cut after its last newline, so a character split at the cut does not count
    against UTF-8 (unless the sample is one long line)."""
    if len(sample) < SAMPLE_BYTES:
        return sample
    cut = sample.rfind(b"\n")
    return sample[:cut + 1] if cut > 0 else sample


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # refused by the reader with a clear message
    body = _whole_lines(sample)
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(body).best()
    if best is None or codecs.lookup(best.encoding).name.replace("-", "_") in LATIN_SCRIPT:
        try:
            body.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    if best is None:
        return "latin-1"  # every byte is something in Latin-1: rows read, never crash
    return codecs.lookup(best.encoding).name


def _first_lines(text: str, count: int = 20) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[:count]


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    except csv.Error:
        return [line]


def detect_delimiter(text: str, known_columns: Callable[[list[str]], int]) -> str:
    """The delimiter of ``text`` (the decoded sample); ``known_columns(headers)`` counts the
    headers the import recognises."""
    lines = _first_lines(text)
    if not lines:
        return ","
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    header = lines[0]

    def score(delimiter: str) -> tuple[int, int, int, int]:
        columns = _split(header, delimiter)
        widths = [len(_split(line, delimiter)) for line in lines[1:6]]
        consistent = sum(1 for width in widths if width == len(columns))
        return (known_columns(columns), consistent if len(columns) > 1 else 0,
                int(delimiter == sniffed), len(columns))

    return max(DELIMITERS, key=score)


def detect(path, known_columns: Callable[[list[str]], int], *, encoding: str | None = None,
           delimiter: str | None = None) -> Detected:
    """Detect what the caller did not choose (``None`` or ``"auto"``)."""
    encoding = None if encoding in (None, "", "auto") else encoding
    delimiter = None if delimiter in (None, "", "auto") else delimiter
    sample = read_sample(path)
    chosen_encoding = encoding or detect_encoding(sample)
    if delimiter is None:
        try:
            text = _whole_lines(sample).decode(chosen_encoding, "replace")
        except LookupError:
            text = _whole_lines(sample).decode("utf-8", "replace")
        delimiter = detect_delimiter(text.lstrip("\ufeff"), known_columns)
        delimiter_guessed = True
    else:
        delimiter_guessed = False
    return Detected(chosen_encoding, delimiter, encoding is None, delimiter_guessed)


def check_delimiter(value: str | None) -> str | None:
    """``None`` (detect) or one of the supported delimiters; ``"tab"``/``"\\t"`` spellings too.

    :raises ValueError: anything else
    """
    if value in (None, "", "auto"):
        return None
    aliases = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = aliases.get(value.lower(), value) if isinstance(value, str) else value
    if value not in DELIMITERS:
        raise ValueError(_("the delimiter must be auto, comma (,), semicolon (;), tab or pipe (|)"))
    return value
