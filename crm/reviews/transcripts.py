"""Transcripts as phone systems and meeting tools export them: WebVTT, SRT and JSON segments.

Why hand-written rather than ``webvtt-py`` / ``srt``: those stop at the first bad cue with one
message, and a manager uploading a 40-minute transcript needs every malformed line at once
(``TranscriptError.problems``: line number and reason). The parsers are strict where a wrong
guess would put text at the wrong second (timestamps, end before start) and tolerant where real
exports differ from the specs:

- WebVTT (W3C): ``NOTE``, ``STYLE`` and ``REGION`` blocks, cue identifiers, cue settings after
  the end time (``align:start position:10%``), ``mm:ss.ttt`` timestamps, markup (``<b>``,
  ``<c.loud>``, inline ``<00:00:01.000>``), entities; the speaker from a voice tag
  (``<v Roger Bingham>``, W3C) or a ``Name: text`` prefix (Zoom and Teams exports).
- SRT: a byte-order mark, CRLF, comma milliseconds (a dot too), missing index lines, ``<i>``.
- JSON: ``[{"start", "end", "speaker": "rep|prospect", "text"}]`` or ``{"segments": [...]}``
  (Whisper's output shape), ``speaker`` optional.

Speakers: a segment's label becomes ``rep`` or ``prospect`` (``speaker_role``) so trackers can
ask "said by the prospect"; labels nobody can place stay ``None`` (counted as "either").
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

from crm import textfold
from crm.errors import ValidationFailed
from crm.i18n import _

FORMATS = ("vtt", "srt", "json")
MAX_BYTES = 5 * 1024 * 1024
MAX_SEGMENTS = 20_000
MAX_TEXT = 2000
MAX_LABEL = 80
MAX_PROBLEMS_SHOWN = 20

# Labels phone systems and meeting tools use for the two sides of a sales call.
REP_LABELS = frozenset({"rep", "agent", "sales", "seller", "vendedor", "vendedora", "ejecutivo", "asesor", "host",
                        "speaker 0", "channel 0", "spk_0"})
PROSPECT_LABELS = frozenset({"prospect", "customer", "client", "cliente", "caller", "guest", "prospecto", "lead",
                             "speaker 1", "channel 1", "spk_1"})


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    label: str | None = None  # the speaker as exported ("Roger Bingham", "rep", None)


class TranscriptError(ValidationFailed):
    """A transcript that cannot be read; ``problems``: (line or item number, reason), all of them."""

    def __init__(self, problems: list[tuple[int, str]], unit: str = "line"):
        self.problems = problems
        shown = "; ".join(f"{unit} {number}: {reason}" for number, reason in problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        super().__init__(f"the transcript has {len(problems)} malformed {unit}(s)",
                         {"transcript": shown + more})


# --- text -----------------------------------------------------------------------------------

def fold(text: str) -> str:
    """``text`` for matching: accents removed (NFKD without combining marks, so "Precío" and
    "precio" match, "ñ" reads "n"), case folded, runs of whitespace one space."""
    return textfold.fold(text)  # the one folding rule fit rules and searches use too


def speaker_role(label: str | None, rep_names: tuple[str, ...] = ()) -> str | None:
    """``rep``, ``prospect`` or None for an exported speaker label. A label naming the rep (their
    full or first name, ``rep_names``) is the rep; on a two-party call any other name is the
    prospect; generic labels ("Agent", "Cliente", "Speaker 1") map by the tables above."""
    if not label:
        return None
    folded = fold(label)
    if folded in REP_LABELS:
        return "rep"
    if folded in PROSPECT_LABELS:
        return "prospect"
    names = {fold(name) for name in rep_names if name and name.strip()}
    if not names:
        return None
    return "rep" if folded in names else "prospect"


def speaker_roles(labels: set[str | None], rep_names: tuple[str, ...] = ()) -> dict[str | None, str | None]:
    """``speaker_role`` for every label of one transcript, with one more rule: when no label is
    the rep (a meeting tool naming people the CRM does not know), names are not guessed to be
    the prospect; only the generic labels are placed."""
    roles = {label: speaker_role(label, rep_names) for label in labels}
    if "rep" in roles.values():
        return roles
    return {label: speaker_role(label) for label in labels}


_TAG_RE = re.compile(r"<[^>]*>")


def clean_cue_text(raw: str) -> tuple[str, str | None]:
    """Cue text without markup, and the speaker of its first voice tag if any."""
    voice = re.search(r"<v(?:\.[\w.-]+)?\s+([^>]+)>", raw)
    text = html.unescape(_TAG_RE.sub("", raw))
    text = " ".join(text.split())
    return text, voice.group(1).strip()[:MAX_LABEL] if voice else None


_NAME_PREFIX_RE = re.compile(r"^([A-Za-zÀ-ÿ][\w .'\-]{0,38}?):\s+(\S.*)$", re.DOTALL)


def split_name_prefix(text: str) -> tuple[str, str | None]:
    """"Ana García: ¿cuál es el precio?" -> (text, "Ana García"), as Zoom and Teams write speakers."""
    match = _NAME_PREFIX_RE.match(text)
    if match and len(match.group(1).split()) <= 4:
        return match.group(2).strip(), match.group(1).strip()
    return text, None


# --- timestamps -----------------------------------------------------------------------------

_VTT_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_VTT_TIMING_RE = re.compile(rf"^\s*{_VTT_TIME}\s*-->\s*{_VTT_TIME}(?:\s+.*)?$")


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    if int(minutes) > 59 or int(seconds) > 59:
        raise ValueError(_("minutes and seconds run 00-59"))
    return round(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000, 3)


def parse_timing(line: str) -> tuple[float, float]:
    """``00:01:02.500 --> 00:01:04,000 align:start`` -> (62.5, 64.0); raises ValueError with the reason."""
    match = _VTT_TIMING_RE.match(line)
    if not match:
        raise ValueError(_("not a timing line 'hh:mm:ss.ttt --> hh:mm:ss.ttt': %(line)s", line=repr(line.strip()[:60])))
    groups = match.groups()
    start, end = _seconds(*groups[:4]), _seconds(*groups[4:])
    if end < start:
        raise ValueError(_("ends (%(end)ss) before it starts (%(start)ss)", end=f"{end:.3f}", start=f"{start:.3f}"))
    return start, end


# --- the three formats ----------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks with the (1-based) number of their first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _segment(start: float, end: float, raw_text: str) -> Segment | None:
    text, label = clean_cue_text(raw_text)
    if label is None:
        text, label = split_name_prefix(text)
    if not text:
        return None
    return Segment(start, end, text[:MAX_TEXT], label[:MAX_LABEL] if label else None)


def parse_vtt(text: str) -> list[Segment]:
    lines = _lines(text)
    if not lines or not re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0]):
        raise TranscriptError([(1, "a WebVTT file starts with the line 'WEBVTT'")])
    segments: list[Segment] = []
    problems: list[tuple[int, str]] = []
    for first, block in _blocks(lines):
        head = block[0].strip()
        if first == 1 or (head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head):
            continue
        timing_at = 0 if "-->" in block[0] else 1  # an optional cue identifier comes first
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            problems.append((first, f"a cue needs a timing line 'start --> end': {head[:60]!r}"))
            continue
        try:
            start, end = parse_timing(block[timing_at])
        except ValueError as problem:
            problems.append((first + timing_at, str(problem)))
            continue
        segment = _segment(start, end, "\n".join(block[timing_at + 1:]))
        if segment:
            segments.append(segment)
    if problems:
        raise TranscriptError(problems)
    return segments


def parse_srt(text: str) -> list[Segment]:
    segments: list[Segment] = []
    problems: list[tuple[int, str]] = []
    for first, block in _blocks(_lines(text)):
        timing_at = 1 if re.fullmatch(r"\s*\d+\s*", block[0]) else 0
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            shown = block[min(timing_at, len(block) - 1)].strip()[:60]
            problems.append((first + min(timing_at, len(block) - 1),
                             f"a subtitle needs an index and a timing line 'start --> end': {shown!r}"))
            continue
        try:
            start, end = parse_timing(block[timing_at])
        except ValueError as problem:
            problems.append((first + timing_at, str(problem)))
            continue
        segment = _segment(start, end, "\n".join(block[timing_at + 1:]))
        if segment:
            segments.append(segment)
    if problems:
        raise TranscriptError(problems)
    return segments


def _json_number(item: dict, key: str) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not 0 <= value < 10**7:
        raise ValueError(_("'%(key)s' must be a number of seconds, 0 or more", key=key))
    return float(value)


def _json_segment(item: object) -> Segment | None:
    if not isinstance(item, dict):
        raise ValueError(_("each segment is an object {start, end, speaker, text}"))
    start, end = _json_number(item, "start"), _json_number(item, "end")
    if end < start:
        raise ValueError(_("ends (%(end)ss) before it starts (%(start)ss)", end=f"{end:.3f}", start=f"{start:.3f}"))
    text, speaker = item.get("text"), item.get("speaker")
    if not isinstance(text, str):
        raise ValueError(_("'text' must be a string"))
    if speaker is not None and not isinstance(speaker, str):
        raise ValueError(_("'speaker' must be a string such as 'rep' or 'prospect'"))
    text = " ".join(text.split())
    return Segment(start, end, text[:MAX_TEXT], speaker.strip()[:MAX_LABEL] or None if speaker else None) if text \
        else None


def parse_json(text: str) -> list[Segment]:
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as problem:
        raise TranscriptError([(problem.lineno, f"not JSON: {problem.msg}")]) from None
    items = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise TranscriptError([(1, "expected a list of segments (or an object with 'segments')")], unit="line")
    segments: list[Segment] = []
    problems: list[tuple[int, str]] = []
    for number, item in enumerate(items, start=1):
        try:
            segment = _json_segment(item)
        except ValueError as problem:
            problems.append((number, str(problem)))
            continue
        if segment:
            segments.append(segment)
    if problems:
        raise TranscriptError(problems, unit="segment")
    return segments


PARSERS = {"vtt": parse_vtt, "srt": parse_srt, "json": parse_json}


def detect_format(text: str, filename: str | None = None) -> str:
    """The format from the file's name, else from its first characters."""
    suffix = (filename or "").rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if suffix in FORMATS:
        return suffix
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    if head[:1] in "[{":
        return "json"
    return "srt"


def decode(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    if len(raw) > MAX_BYTES:
        raise ValidationFailed(
            _("transcript too large"),
            {"transcript": _("at most %(MAX_BYTES)s MB", MAX_BYTES=MAX_BYTES // (1024 * 1024))})
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise ValidationFailed(_("transcript is not UTF-8"),
                               {"transcript": _("not UTF-8 text (byte %(start)s); export as UTF-8",
                                                start=problem.start)}) from None


def parse_transcript(raw: bytes | str, fmt: str | None = None, filename: str | None = None) -> list[Segment]:
    """Every segment of a transcript in start order.

    :raises TranscriptError: every malformed line or segment at once
    :raises ValidationFailed: not UTF-8, too large, an unknown format, no text, too many segments
    """
    text = decode(raw)
    if len(text) > MAX_BYTES:
        raise ValidationFailed(
            _("transcript too large"),
            {"transcript": _("at most %(MAX_BYTES)s MB", MAX_BYTES=MAX_BYTES // (1024 * 1024))})
    if "\x00" in text:
        raise ValidationFailed(_("invalid transcript"), {"transcript": _("contains NUL characters: not a text file")})
    fmt = (fmt or detect_format(text, filename)).lower()
    if fmt not in PARSERS:
        raise ValidationFailed(
            _("unknown transcript format"), {"format": _("one of %(value)s", value=', '.join(FORMATS))})
    segments = PARSERS[fmt](text)
    if not segments:
        raise ValidationFailed(_("empty transcript"), {"transcript": _("no cue with text in it")})
    if len(segments) > MAX_SEGMENTS:
        raise ValidationFailed(
            _("transcript too long"), {"transcript": _("at most %(MAX_SEGMENTS)s segments", MAX_SEGMENTS=MAX_SEGMENTS)})
    return sorted(segments, key=lambda s: (s.start, s.end))
